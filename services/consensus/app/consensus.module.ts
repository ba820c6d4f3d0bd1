import { Module } from '@nestjs/common';
import { ConsensusConsumer } from './consensus.consumer.js';

@Module({ providers: [ConsensusConsumer] })
export class ConsensusModule {}
