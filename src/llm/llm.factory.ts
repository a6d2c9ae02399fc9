import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AppConfig } from '../config';
import type { SessionWriteQueue } from '../session/session-write-queue';
import { loadScenarioDir, scenarioNames, type LoadedScenario } from './agents/agent-loader';
import { SpecError } from './agents/yaml-reader';
import type { CallControl } from './call-control.port';
import { ConcurrencyLimiter } from './drivers/concurrency-limiter';
import { AzureOpenAiChatModel, OpenAiChatModel } from './drivers/openai-chat-model';
import { LocalChatModel } from './local/local-chat-model';
import { Orchestrator } from './orchestrator';
import type { ChatModel } from './ports';
import { insuranceTools } from './tools/insurance-tools';
import { ToolRegistry } from './tools/tool-registry';

/** The bundled scenarios (two levels up from both src/llm and dist/llm). */
export const DEFAULT_SCENARIOS_DIR = join(__dirname, '..', '..', 'config', 'scenarios');

export interface LlmEngine {
  model: ChatModel;
  tools: ToolRegistry;
  scenarios: Map<string, LoadedScenario>;
  defaultScenario: string;
  limiter?: ConcurrencyLimiter;
  orchestrator(callControl: CallControl, writer?: SessionWriteQueue): Orchestrator;
  scenario(name?: string): LoadedScenario;
}

export function createChatModel(
  config: AppConfig,
  logger: Logger,
): { model: ChatModel; limiter?: ConcurrencyLimiter } {
  const { llm } = config;
  if (llm.driver === 'local') return { model: new LocalChatModel() };
  const limiter = new ConcurrencyLimiter({
    name: llm.driver,
    maxInFlight: llm.maxConcurrency,
    queueTimeoutMs: llm.queueTimeoutMs,
  });
  const common = {
    timeouts: llm.timeouts,
    maxRetries: llm.maxRetries,
    limiter,
    logger: logger.child({ module: 'llm' }),
  };
  if (llm.driver === 'openai') {
    return {
      model: new OpenAiChatModel({
        ...common,
        baseUrl: llm.openai.baseUrl,
        apiKey: llm.openai.apiKey,
        model: llm.openai.model ?? '',
      }),
      limiter,
    };
  }
  return {
    model: new AzureOpenAiChatModel({
      ...common,
      endpoint: llm.azure.endpoint ?? '',
      deployment: llm.azure.deployment ?? '',
      apiVersion: llm.azure.apiVersion,
      apiKey: llm.azure.apiKey,
      useManagedIdentity: llm.azure.useManagedIdentity,
    }),
    limiter,
  };
}

/**
 * Loads every scenario with its agents (invalid files stop the boot with the file and field named),
 * registers the tools, and builds the configured chat model. Shared by the Nest module and the CLI.
 */
export function createLlm(config: AppConfig, logger: Logger): LlmEngine {
  const tools = new ToolRegistry().register(
    ...insuranceTools(join(DEFAULT_SCENARIOS_DIR, 'insurance', 'data')),
  );
  const root = config.llm.scenariosDir ?? DEFAULT_SCENARIOS_DIR;
  const scenarios = new Map<string, LoadedScenario>();
  for (const name of scenarioNames(root)) scenarios.set(name, loadScenarioDir(root, name, tools.names()));
  if (!scenarios.has(config.llm.defaultScenario)) {
    throw new SpecError(
      root,
      'DEFAULT_SCENARIO',
      `names "${config.llm.defaultScenario}" but the scenarios found are: ${[...scenarios.keys()].join(', ') || 'none'}`,
    );
  }
  const { model, limiter } = createChatModel(config, logger);
  return {
    model,
    tools,
    scenarios,
    defaultScenario: config.llm.defaultScenario,
    limiter,
    orchestrator: (callControl, writer) =>
      new Orchestrator({
        model,
        tools,
        callControl,
        writer,
        maxToolSteps: config.llm.maxToolSteps,
        logger: logger.child({ module: 'orchestrator' }),
      }),
    scenario(name) {
      const s = scenarios.get(name ?? config.llm.defaultScenario);
      if (!s)
        throw new SpecError(
          root,
          'scenario',
          `"${name}" does not exist (available: ${[...scenarios.keys()].join(', ')})`,
        );
      return s;
    },
  };
}
