import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { TURN_METRIC_NAMES } from './session.types';

export class ListSessionsQuery {
  @ApiPropertyOptional({
    minimum: 1,
    maximum: 500,
    default: 50,
    description: 'How many sessions (most recent first).',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @ApiPropertyOptional({
    description: 'Find the session of this ACS call connection.',
    example: '401f3500-62bd-46a9-8c09-9e1b06caca01',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[\w.:-]{1,128}$/, {
    message: 'callConnectionId must be 1–128 characters of letters, digits, . : _ -',
  })
  callConnectionId?: string;
}

export class SessionIdParam {
  @ApiProperty({ description: 'Session id', example: '3f1c7a52-4f0e-4a8e-9d7b-2b7f0c1d9e11' })
  @IsString()
  @Matches(/^[\w.:-]{1,128}$/, { message: 'id must be 1–128 characters of letters, digits, . : _ -' })
  id!: string;
}

export class SessionSummaryDto {
  @ApiProperty({ example: '3f1c7a52-4f0e-4a8e-9d7b-2b7f0c1d9e11' }) id!: string;
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' }) createdAt!: string;
  @ApiProperty({ example: '2026-11-21T10:03:12.000Z' }) updatedAt!: string;
  @ApiProperty({ enum: ['active', 'ended'] }) state!: 'active' | 'ended';
  @ApiPropertyOptional({ example: '401f3500-62bd-46a9-8c09-9e1b06caca01' }) callConnectionId?: string;
  @ApiPropertyOptional({ example: 'insurance' }) scenario?: string;
  @ApiPropertyOptional({ example: 'authentication' }) agent?: string;
  @ApiPropertyOptional({ example: '2026-11-21T10:05:00.000Z' }) endedAt?: string;
}

export class SessionListDto {
  @ApiProperty({ type: [SessionSummaryDto] }) sessions!: SessionSummaryDto[];
}

export class ToolCallDto {
  @ApiProperty({ example: 'record_claim' }) name!: string;
  @ApiProperty({ example: { what: 'rear-ended', when: 'yesterday' } }) arguments!: unknown;
  @ApiPropertyOptional({ example: { claimNumber: 'CLM-2026-000123' } }) result?: unknown;
  @ApiPropertyOptional() error?: string;
}

export class HistoryEntryDto {
  @ApiProperty({ enum: ['caller', 'agent', 'system', 'tool'] }) role!: string;
  @ApiProperty({ example: 'I would like to report a claim.' }) text!: string;
  @ApiProperty({ example: '2026-11-21T10:00:05.120Z' }) at!: string;
  @ApiPropertyOptional({ example: 'claims' }) agent?: string;
  @ApiPropertyOptional({ description: 'The caller interrupted; text is what the caller heard.' })
  interrupted?: boolean;
  @ApiPropertyOptional({ example: 3 }) turn?: number;
  @ApiPropertyOptional({ type: [ToolCallDto] }) toolCalls?: ToolCallDto[];
}

export class TurnMetricsDto {
  @ApiProperty({ example: 3 }) turn!: number;
  @ApiProperty({ example: '2026-11-21T10:00:07.000Z' }) at!: string;
}
for (const name of TURN_METRIC_NAMES) {
  ApiPropertyOptional({ type: Number, description: `${name} (milliseconds)` })(
    TurnMetricsDto.prototype,
    name,
  );
}

export class SessionDetailDto extends SessionSummaryDto {
  @ApiProperty({ type: [HistoryEntryDto] }) history!: HistoryEntryDto[];
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { callerName: 'Alice Brown', authenticated: true },
  })
  context!: Record<string, unknown>;
  @ApiProperty({ type: [TurnMetricsDto] }) turns!: TurnMetricsDto[];
}
