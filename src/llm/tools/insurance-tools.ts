import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { digitsToWords } from '../../speech/numbers';
import type { ToolDefinition } from './tool-registry';

interface Customer {
  id: string;
  name: string;
  zip: string;
  ssnLast4: string;
  policyNumber: string;
  products: string[];
}

interface KnowledgeEntry {
  topic: string;
  keywords: string[];
  answer: string;
}

const norm = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z ]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

/**
 * The default insurance scenario's tools over its demo data (data/customers.json and
 * data/policy-knowledge.yaml in the scenario directory).
 */
export function insuranceTools(dataDir: string): ToolDefinition[] {
  const customers = (
    JSON.parse(readFileSync(`${dataDir}/customers.json`, 'utf8')) as { customers: Customer[] }
  ).customers;
  const knowledge = (
    load(readFileSync(`${dataDir}/policy-knowledge.yaml`, 'utf8')) as { entries: KnowledgeEntry[] }
  ).entries;

  const verifyCaller: ToolDefinition = {
    name: 'verify_caller',
    description:
      "Verify the caller's identity: full name plus either the ZIP code or the last four digits of the SSN.",
    parameters: {
      type: 'object',
      properties: {
        name: { type: 'string', description: 'Full name as the caller said it' },
        zip_or_last4: {
          type: 'string',
          description: 'ZIP code (5 digits) or SSN last four (4 digits)',
          pattern: '^[0-9]{4,5}$',
        },
      },
      required: ['name', 'zip_or_last4'],
      additionalProperties: false,
    },
    async execute(args, ctx) {
      const name = norm(String(args.name));
      const code = String(args.zip_or_last4);
      const match = customers.find((c) => norm(c.name) === name && (c.zip === code || c.ssnLast4 === code));
      if (!match) {
        ctx.setContext({ authenticated: false });
        return { verified: false, reason: 'no customer matches that name and number' };
      }
      const firstName = match.name.split(' ')[0];
      ctx.setContext({
        authenticated: true,
        customerId: match.id,
        callerName: match.name,
        policyNumber: match.policyNumber,
      });
      return {
        verified: true,
        customerId: match.id,
        firstName,
        policyNumber: match.policyNumber,
        products: match.products,
      };
    },
  };

  const recordClaim: ToolDefinition = {
    name: 'record_claim',
    description: 'Record a first notice of loss for the verified caller and return the claim number.',
    parameters: {
      type: 'object',
      properties: {
        what: { type: 'string', description: 'What happened' },
        when: { type: 'string', description: 'When it happened' },
        where: { type: 'string', description: 'Where it happened' },
      },
      required: ['what', 'when', 'where'],
      additionalProperties: false,
    },
    async execute(args, ctx) {
      if (ctx.context.authenticated !== true)
        throw new Error('the caller is not verified: verify the caller before recording a claim');
      const digits = String(randomInt(100000, 1000000));
      const claimNumber = `CLM-${digits}`;
      const claim = {
        claimNumber,
        customerId: String(ctx.context.customerId ?? ''),
        what: String(args.what),
        when: String(args.when),
        where: String(args.where),
        recordedAt: new Date().toISOString(),
      };
      ctx.setContext({ claim, claimNumber });
      return { claimNumber, claimNumberSpoken: `C L M ${digitsToWords(digits)}` };
    },
  };

  const lookupPolicy: ToolDefinition = {
    name: 'lookup_policy',
    description: 'Answer a coverage question from the policy knowledge base.',
    parameters: {
      type: 'object',
      properties: { question: { type: 'string', description: "The caller's question" } },
      required: ['question'],
      additionalProperties: false,
    },
    async execute(args) {
      const words = new Set(norm(String(args.question)).split(' '));
      let best: { entry: KnowledgeEntry; score: number } | undefined;
      for (const entry of knowledge) {
        const score = entry.keywords.filter((k) => k.split(' ').every((w) => words.has(w))).length;
        if (score > 0 && (!best || score > best.score)) best = { entry, score };
      }
      return best
        ? { found: true, topic: best.entry.topic, answer: best.entry.answer }
        : { found: false, topics: knowledge.map((e) => e.topic) };
    },
  };

  const escalate = callActionTool(
    'escalate_to_human',
    'Transfer the caller to a human agent.',
    'transfer_requested',
    'transfer requested',
  );
  const endCall = callActionTool(
    'end_call',
    'End the call after saying goodbye.',
    'hangup_requested',
    'hang-up requested',
  );

  return [verifyCaller, recordClaim, lookupPolicy, escalate, endCall];
}

/** A tool whose only effect is a typed call action through the CallControl port. */
function callActionTool(
  name: string,
  description: string,
  type: 'transfer_requested' | 'hangup_requested',
  status: string,
): ToolDefinition {
  return {
    name,
    description,
    parameters: {
      type: 'object',
      properties: { reason: { type: 'string' } },
      required: ['reason'],
      additionalProperties: false,
    },
    async execute(args, ctx) {
      await ctx.requestCallAction({ type, reason: String(args.reason) });
      return { status };
    },
  };
}
