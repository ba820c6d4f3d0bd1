import { Module } from '@nestjs/common';
import { PeerGatewayBridge } from './peer-gateway.bridge.js';

@Module({ providers: [PeerGatewayBridge] })
export class PeerGatewayModule {}
