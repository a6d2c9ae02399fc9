#!/usr/bin/env node
import 'reflect-metadata';
import { buildProgram, runCli } from './program';

void runCli(buildProgram(), process.argv);
