/** What an agent can ask of the phone call. The calls module carries these out through ACS. */
export type CallAction =
  | { type: 'transfer_requested'; reason: string; target?: string }
  | { type: 'hangup_requested'; reason: string };

export interface CallActionContext {
  sessionId: string;
  callConnectionId?: string;
}

/**
 * Port through which agents act on the call (transfer to a human, hang up). Implemented by the calls
 * module; the chat CLI prints the action; without a call it is only recorded.
 */
export abstract class CallControl {
  abstract request(action: CallAction, context: CallActionContext): Promise<void>;
}

/** Records actions (no phone network): used until a call exists and by tests. */
export class RecordingCallControl extends CallControl {
  readonly actions: Array<CallAction & CallActionContext> = [];
  constructor(private readonly onAction?: (action: CallAction, context: CallActionContext) => void) {
    super();
  }
  async request(action: CallAction, context: CallActionContext): Promise<void> {
    this.actions.push({ ...action, ...context });
    this.onAction?.(action, context);
  }
}
