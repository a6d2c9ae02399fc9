import { Global, Module } from '@nestjs/common';
import { CallAdmission } from './call-admission.service';

@Global()
@Module({ providers: [CallAdmission], exports: [CallAdmission] })
export class LifecycleModule {}
