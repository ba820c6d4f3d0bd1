import { Module } from '@nestjs/common';
import { AggregatorConsumer } from './aggregator.consumer.js';

@Module({ providers: [AggregatorConsumer] })
export class AggregatorModule {}
