import { Controller, Delete, Get, HttpCode, Param, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { DomainError } from '../common/errors';
import { ListSessionsQuery, SessionDetailDto, SessionIdParam, SessionListDto } from './session.dto';
import { SessionStore } from './session-store';

@ApiTags('sessions')
@ApiBearerAuth()
@Controller('api/v1/sessions')
export class SessionsController {
  constructor(private readonly store: SessionStore) {}

  @Get()
  @ApiOperation({
    summary: 'Recent sessions, most recent first; `?callConnectionId=` finds the session of a call.',
  })
  @ApiOkResponse({ type: SessionListDto })
  async list(@Query() query: ListSessionsQuery): Promise<SessionListDto> {
    const sessions = await this.store.list({
      limit: query.limit ?? 50,
      callConnectionId: query.callConnectionId,
    });
    return { sessions };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One session: history, context and per-turn metrics.' })
  @ApiOkResponse({ type: SessionDetailDto })
  @ApiNotFoundResponse({ description: 'No such session (code SESSION_NOT_FOUND)' })
  async get(@Param() { id }: SessionIdParam): Promise<SessionDetailDto> {
    const session = await this.store.get(id);
    if (!session) throw new DomainError('SESSION_NOT_FOUND', `session ${id} does not exist or has expired`);
    return session;
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a session and everything stored with it.' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ description: 'No such session (code SESSION_NOT_FOUND)' })
  async delete(@Param() { id }: SessionIdParam): Promise<void> {
    if (!(await this.store.delete(id)))
      throw new DomainError('SESSION_NOT_FOUND', `session ${id} does not exist or has expired`);
  }
}
