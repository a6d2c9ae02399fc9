import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { CallsService } from './calls.service';
import { CallActionAcceptedDto, CallDto, CallIdParam, CallListDto, DialDto, TransferDto } from './calls.dto';

@ApiTags('calls')
@ApiBearerAuth()
@Controller('api/v1/calls')
export class CallsController {
  constructor(private readonly calls: CallsService) {}

  @Post()
  @ApiOperation({
    summary: 'Dial out: ACS calls the number and streams the call to the media WebSocket.',
  })
  @ApiCreatedResponse({
    type: CallDto,
    description: 'Call placed; it connects asynchronously (status connecting).',
  })
  @ApiResponse({
    status: 429,
    description: 'This replica is at MAX_CONCURRENT_CALLS (code CAPACITY_EXCEEDED)',
  })
  @ApiResponse({ status: 501, description: 'No ACS configured (code NOT_AVAILABLE)' })
  @ApiResponse({ status: 502, description: 'ACS refused the call, with its code (e.g. 8523)' })
  @ApiResponse({ status: 504, description: 'ACS did not answer in time' })
  dial(@Body() body: DialDto): Promise<CallDto> {
    return this.calls.dial(body);
  }

  @Get()
  @ApiOperation({ summary: 'Active calls (connecting or connected), most recent first.' })
  @ApiOkResponse({ type: CallListDto })
  async list(): Promise<CallListDto> {
    return { calls: await this.calls.listActive() };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One call: state, direction, session, recording.' })
  @ApiOkResponse({ type: CallDto })
  @ApiNotFoundResponse({ description: 'No such call (code CALL_NOT_FOUND)' })
  get(@Param() { id }: CallIdParam): Promise<CallDto> {
    return this.calls.get(id);
  }

  @Post(':id/hangup')
  @HttpCode(202)
  @ApiOperation({ summary: 'Hang up the call for everyone.' })
  @ApiResponse({ status: 202, type: CallActionAcceptedDto })
  @ApiNotFoundResponse({ description: 'No such call (code CALL_NOT_FOUND)' })
  async hangUp(@Param() { id }: CallIdParam): Promise<CallActionAcceptedDto> {
    const call = await this.calls.hangUp(id, 'admin API');
    return { callConnectionId: id, sessionId: call.sessionId, action: 'hanging_up' };
  }

  @Post(':id/transfer')
  @HttpCode(202)
  @ApiOperation({ summary: 'Transfer the caller to a phone number or ACS user (default TRANSFER_TARGET).' })
  @ApiResponse({ status: 202, type: CallActionAcceptedDto })
  @ApiNotFoundResponse({ description: 'No such call (code CALL_NOT_FOUND)' })
  @ApiConflictResponse({ description: 'The call has ended (code CONFLICT)' })
  async transfer(@Param() { id }: CallIdParam, @Body() body: TransferDto): Promise<CallActionAcceptedDto> {
    const call = await this.calls.transfer(id, body.target);
    return { callConnectionId: id, sessionId: call.sessionId, action: 'transferring' };
  }
}
