import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { CallControl, type CallAction, type CallActionContext } from '../llm/call-control.port';
import { ROOT_LOGGER } from '../logging/root-logger.token';
import { CallsService } from './calls.service';

/**
 * The llm module's CallControl port, carried out on the phone call: transfer through ACS (to the
 * agent's target or TRANSFER_TARGET) and hang up for everyone. An action without a call (a chat session)
 * is only logged. Failures reject, so the agent's tool sees them.
 */
@Injectable()
export class AcsCallControl extends CallControl {
  private readonly log: Logger;

  constructor(
    private readonly calls: CallsService,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    super();
    this.log = root.child({ module: 'call-control' });
  }

  async request(action: CallAction, context: CallActionContext): Promise<void> {
    const { callConnectionId, sessionId } = context;
    if (!callConnectionId) {
      this.log.info(
        { sessionId, action: action.type, reason: action.reason },
        'call action without a call: nothing to do',
      );
      return;
    }
    this.log.info(
      { sessionId, callConnectionId, action: action.type, reason: action.reason },
      'agent call action',
    );
    if (action.type === 'hangup_requested')
      await this.calls.hangUp(callConnectionId, `agent: ${action.reason}`);
    else await this.calls.transfer(callConnectionId, action.target);
  }
}
