import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { STREAMING_MODES, type StreamingMode } from '../config';
import type { CallDirection, CallStatus } from './call-registry';

const E164 = /^\+[1-9]\d{6,14}$/;
const CALL_ID = /^[\w.:-]{1,128}$/;

export class DialDto {
  @ApiProperty({ description: 'E.164 number to call.', example: '+14255550123' })
  @IsString()
  @Matches(E164, { message: 'targetNumber must be an E.164 phone number such as +14255550123' })
  targetNumber!: string;

  @ApiPropertyOptional({
    description: 'Scenario (agent set) for the call; default DEFAULT_SCENARIO.',
    example: 'insurance',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[\w-]{1,64}$/, { message: 'scenario must be 1–64 letters, digits, _ or -' })
  scenario?: string;

  @ApiPropertyOptional({ enum: STREAMING_MODES, description: 'Streaming mode; default STREAMING_MODE.' })
  @IsOptional()
  @IsIn(STREAMING_MODES, { message: `streamingMode must be one of: ${STREAMING_MODES.join(', ')}` })
  streamingMode?: StreamingMode;

  @ApiPropertyOptional({ description: 'Record the call (default RECORD_CALLS).', example: false })
  @IsOptional()
  @IsBoolean()
  record?: boolean;
}

export class TransferDto {
  @ApiPropertyOptional({
    description: 'E.164 number or ACS user id (8:acs:…); default TRANSFER_TARGET.',
    example: '+14255550199',
  })
  @IsOptional()
  @IsString()
  @Matches(/^(\+[1-9]\d{6,14}|8:acs:\S{1,200})$/, {
    message: 'target must be an E.164 phone number or an ACS user id (8:acs:…)',
  })
  target?: string;
}

export class CallIdParam {
  @ApiProperty({ description: 'ACS call connection id', example: '401f3500-62bd-46a9-8c09-9e1b06caca01' })
  @IsString()
  @Matches(CALL_ID, { message: 'id must be 1–128 characters of letters, digits, . : _ -' })
  id!: string;
}

export class CallbackQuery {
  @ApiPropertyOptional({ description: 'Session the callback URL was issued for.' })
  @IsOptional()
  @IsString()
  @Matches(/^[\w.:-]{1,128}$/, { message: 'session must be 1–128 characters of letters, digits, . : _ -' })
  session?: string;

  @ApiPropertyOptional({ description: 'Per-call HMAC token (enforced when CALLBACK_SIGNING_SECRET is set).' })
  @IsOptional()
  @IsString()
  token?: string;
}

export class EventGridQuery {
  @ApiPropertyOptional({ description: 'Must equal EVENTGRID_SECRET when that is set.' })
  @IsOptional()
  @IsString()
  code?: string;
}

export class CallDto {
  @ApiProperty({ example: '401f3500-62bd-46a9-8c09-9e1b06caca01' }) callConnectionId!: string;
  @ApiProperty({ example: '3f1c7a52-4f0e-4a8e-9d7b-2b7f0c1d9e11' }) sessionId!: string;
  @ApiProperty({ enum: ['inbound', 'outbound'] }) direction!: CallDirection;
  @ApiProperty({ enum: ['connecting', 'connected', 'transferred', 'ended', 'failed'] }) status!: CallStatus;
  @ApiProperty({ example: 'insurance' }) scenario!: string;
  @ApiProperty({ enum: STREAMING_MODES }) streamingMode!: StreamingMode;
  @ApiProperty() record!: boolean;
  @ApiPropertyOptional({ example: '+14255550100' }) from?: string;
  @ApiPropertyOptional({ example: '+14255550123' }) to?: string;
  @ApiProperty({ example: '2026-11-22T10:00:00.000Z' }) startedAt!: string;
  @ApiPropertyOptional() connectedAt?: string;
  @ApiPropertyOptional() endedAt?: string;
  @ApiPropertyOptional({ example: 'Call ended by the remote party (code 0/0)' }) endReason?: string;
  @ApiPropertyOptional() serverCallId?: string;
  @ApiPropertyOptional() correlationId?: string;
  @ApiPropertyOptional() recordingId?: string;
  @ApiPropertyOptional() recordingState?: string;
  @ApiPropertyOptional() participants?: number;
}

export class CallListDto {
  @ApiProperty({ type: [CallDto] }) calls!: CallDto[];
}

export class CallActionAcceptedDto {
  @ApiProperty() callConnectionId!: string;
  @ApiProperty() sessionId!: string;
  @ApiProperty({ enum: ['hanging_up', 'transferring'] }) action!: 'hanging_up' | 'transferring';
}
