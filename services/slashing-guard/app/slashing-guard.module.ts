import { Module } from '@nestjs/common';
import { SlashingGuardConsumer } from './slashing-guard.consumer.js';

@Module({ providers: [SlashingGuardConsumer] })
export class SlashingGuardModule {}
