import { Module } from '@nestjs/common';
import { AttesterScheduler } from './attester-scheduler.js';

@Module({ providers: [AttesterScheduler] })
export class DutySchedulerModule {}
