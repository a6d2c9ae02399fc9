import { Controller, Get, Global, Inject, Injectable, Module, OnModuleInit, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Logger } from 'pino';
import { AppConfig } from '../config';
import { DomainError } from '../common/errors';
import { ReadinessRegistry } from '../health/readiness.registry';
import { ROOT_LOGGER } from '../logging/root-logger.token';
import type { AgentSpec } from './agents/agent.types';
import { createLlm, type LlmEngine } from './llm.factory';
import { ChatModel } from './ports';

export const LLM_ENGINE = Symbol('LLM_ENGINE');

@Injectable()
export class LlmReadiness implements OnModuleInit {
  constructor(
    @Inject(LLM_ENGINE) private readonly llm: LlmEngine,
    private readonly readiness: ReadinessRegistry,
  ) {}
  onModuleInit(): void {
    this.readiness.register('llm', () => {
      const stats = this.llm.limiter?.stats();
      // A full queue means calls wait for the model: degraded, but the replica can still take calls.
      const saturated = stats !== undefined && stats.queued > 0;
      return {
        state: saturated ? 'degraded' : 'up',
        critical: false,
        details: {
          driver: this.llm.model.driver,
          scenarios: [...this.llm.scenarios.keys()],
          ...(stats ? { limiter: stats } : {}),
        },
      };
    });
  }
}

const agentView = (scenario: string, a: AgentSpec) => ({
  name: a.name,
  scenario,
  description: a.description,
  greeting: a.greeting,
  voice: a.voice,
  model: a.model,
  tools: a.tools,
  source: a.source,
});

@ApiTags('agents')
@ApiBearerAuth()
@Controller('api/v1')
export class AgentsController {
  constructor(@Inject(LLM_ENGINE) private readonly llm: LlmEngine) {}

  @Get('agents')
  @ApiOperation({ summary: 'Every agent of every scenario.' })
  @ApiOkResponse({
    schema: {
      example: {
        agents: [
          {
            name: 'claims',
            scenario: 'insurance',
            description: 'Takes a first notice of loss',
            tools: ['record_claim'],
          },
        ],
      },
    },
  })
  agents() {
    return {
      agents: [...this.llm.scenarios].flatMap(([name, s]) =>
        [...s.agents.values()].map((a) => agentView(name, a)),
      ),
    };
  }

  @Get('agents/:name')
  @ApiOperation({ summary: 'One agent (its prompt, tools, hand-offs and offline script).' })
  @ApiNotFoundResponse({ description: 'No such agent (code NOT_FOUND)' })
  agent(@Param('name') name: string) {
    for (const [scenarioName, s] of this.llm.scenarios) {
      const a = s.agents.get(name);
      if (a) {
        return {
          ...agentView(scenarioName, a),
          prompt: a.prompt,
          returnGreeting: a.returnGreeting,
          handoffs: s.scenario.handoffs.filter((h) => h.from === name),
          local: a.local,
        };
      }
    }
    throw new DomainError('NOT_FOUND', `no agent named ${name}`);
  }

  @Get('scenarios')
  @ApiOperation({ summary: 'Scenarios: start agent, agents and hand-offs.' })
  @ApiOkResponse({
    schema: {
      example: {
        default: 'insurance',
        scenarios: [
          { name: 'insurance', startAgent: 'authentication', agents: ['authentication', 'claims', 'policy'] },
        ],
      },
    },
  })
  scenarios() {
    return {
      default: this.llm.defaultScenario,
      scenarios: [...this.llm.scenarios.values()].map(({ scenario }) => ({
        name: scenario.name,
        description: scenario.description,
        startAgent: scenario.startAgent,
        agents: scenario.agents,
      })),
    };
  }

  @Get('scenarios/:name')
  @ApiOperation({ summary: 'One scenario with its hand-offs.' })
  @ApiNotFoundResponse({ description: 'No such scenario (code NOT_FOUND)' })
  scenario(@Param('name') name: string) {
    const s = this.llm.scenarios.get(name);
    if (!s) throw new DomainError('NOT_FOUND', `no scenario named ${name}`);
    return { ...s.scenario, agents: [...s.agents.values()].map((a) => agentView(name, a)) };
  }
}

@Global()
@Module({
  controllers: [AgentsController],
  providers: [
    {
      provide: LLM_ENGINE,
      inject: [AppConfig, ROOT_LOGGER],
      useFactory: (config: AppConfig, logger: Logger) => createLlm(config, logger),
    },
    { provide: ChatModel, inject: [LLM_ENGINE], useFactory: (llm: LlmEngine) => llm.model },
    LlmReadiness,
  ],
  exports: [LLM_ENGINE, ChatModel],
})
export class LlmModule {}
