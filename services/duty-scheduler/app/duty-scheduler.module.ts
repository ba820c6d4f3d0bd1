import { Module } from '@nestjs/common';
import { DutyScheduler } from './duty-scheduler.js';

@Module({ providers: [DutyScheduler] })
export class DutySchedulerModule {}
