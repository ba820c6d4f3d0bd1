import { Module } from '@nestjs/common';
import { GatewayServer } from './gateway.server.js';

@Module({ providers: [GatewayServer] })
export class SignerGatewayModule {}
