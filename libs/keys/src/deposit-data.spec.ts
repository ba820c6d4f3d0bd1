import { describe, expect, it } from 'vitest';
import { fromHex, toHex, type Hex } from '#lib/contracts';
import { generateSecretKey, secretKeyToPublicKey, sign } from '#lib/bls';
import {
  depositData,
  depositDataFromSignature,
  depositNetwork,
  depositSigningRoot,
  verifyDepositData,
  withdrawalCredentials,
  type DepositDataJson,
} from './deposit-data.js';
import { KeyMaterialError } from './errors.js';

/**
 * Known deposit data: Charon's golden file eth2util/deposit/testdata/TestMarshalDepositData.golden
 * (ObolNetwork/charon @ 16225004d6776f1fa4c74ce248134622d5438e8d), produced by its
 * TestMarshalDepositData from the four secret keys and withdrawal addresses in
 * eth2util/deposit/deposit_test.go (mustGenerateDepositDatas), 32 ETH, network goerli
 * (GENESIS_FORK_VERSION 0x00001020), compounding (0x02) credentials. The golden lists the
 * entries sorted by pubkey; here each entry sits next to its key.
 */
const CHARON_GOLDEN: readonly { secret: Hex; address: Hex; entry: DepositDataJson }[] = [
  {
    secret: '0x1dabcbfc9258f0f28606bf9e3b1c9f06d15a6e4eb0fbc28a43835eaaed7623fc',
    address: '0x05f9f73f74c205f2b9267c04296e3069767531fb',
    entry: {
      pubkey: '80d0436ccacd2b263f5e9e7ebaa14015fe5c80d3e57dc7c37bcbda783895e3491019d3ed694ecbb49c8c80a0480c0392',
      withdrawal_credentials: '02000000000000000000000005f9f73f74c205f2b9267c04296e3069767531fb',
      amount: 32000000000,
      signature:
        'aed3c99949ab93622f2d1baaeb047d30cb33e744e1a8464eebe1a2a634f0f23529ce753c54035968e9f3f683bca02f6704c933ca9ff2b181897de4eb27b0b2568721fe625084d5cc9030be55ceb1bc573df61a8a67bad87d94187ee4d28fc36f',
      deposit_message_root: '0ed9775278db27ab7ef0efeea0861750d1f0e917deecfe68398321468201f2f8',
      deposit_data_root: '10e0a77c03f4420198571cf957ce3cd7cc85ae310664c77ff9556eba18ec8689',
      fork_version: '00001020',
      network_name: 'goerli',
      deposit_cli_version: '2.7.0',
    },
  },
  {
    secret: '0x01477d4bfbbcebe1fef8d4d6f624ecbb6e3178558bb1b0d6286c816c66842a6d',
    address: '0x321dcb529f3945bc94fecea9d3bc5caf35253b94',
    entry: {
      pubkey: '813f5d2697f76841a752ef8c1ac11d1bb76e07003799c5745f8a569214653810def3b60920b54fb0ab3cb6deb08c3972',
      withdrawal_credentials: '020000000000000000000000321dcb529f3945bc94fecea9d3bc5caf35253b94',
      amount: 32000000000,
      signature:
        'b9bc77c52be591255d52ef25b7f2e0feb668329983619b0e23b5caf2d5768b3a9661079eaf68564eb5d743b531252aad058a9d0b48a87af601765176699248568d8bd7dd0539e38658c572ad628e1f0854a797378bf2125a08d1beb685faef91',
      deposit_message_root: '6dcf9ebf537997129102c7d74f3e54bd5446d608eb2d4fb15a53e3362e775a9b',
      deposit_data_root: '2b4bce26707e020737555c59bfad745ce41d5fa061097176957e6a3c17ff41d5',
      fork_version: '00001020',
      network_name: 'goerli',
      deposit_cli_version: '2.7.0',
    },
  },
  {
    secret: '0x5b77c0f0ef7c4ddc123d55b8bd93daeefbd7116764a941c0061a496649e145b5',
    address: '0x08ef6a66a4f315aa250d2e748de0bfe5a6121096',
    entry: {
      pubkey: '940a838cd88c10daa9c26fcdf8472dfe09657c4aa4030380c6cca5ddb573a8036dfb03e61137c4baacdc9d69061f1eb2',
      withdrawal_credentials: '02000000000000000000000008ef6a66a4f315aa250d2e748de0bfe5a6121096',
      amount: 32000000000,
      signature:
        'b891753d80750980d392002ee942dfdb7122004f5bca5bf4e9c093a772748ab0d2285c87ea88110e3d380fc680999bdf1325af339b6d5347538972276c1d5be92d2ac69d63a516e255a7b9261e8019693e177a1a80a2c2130cb7125167d29904',
      deposit_message_root: '4b949eae5e0d7cc5d4b5a4d96b67b75167977e04c4bece4fef00a841d036bb55',
      deposit_data_root: '2f6f2f079ae8c1ece7178d1f97989b4e0d29787d434b17c4ed577c4dc5b72886',
      fork_version: '00001020',
      network_name: 'goerli',
      deposit_cli_version: '2.7.0',
    },
  },
  {
    secret: '0x002ff4fd29d3deb6de9f5d115182a49c618c97acaa365ad66a0b240bd825c4ff',
    address: '0x67f5df029ae8d3f941abef0bec6462a6b4e4b522',
    entry: {
      pubkey: 'b3d95c8790d63114ab1e813e8943f1bd59683927942df076ad724de8cc00974306c95d6614ef93505b5acd9719a6de78',
      withdrawal_credentials: '02000000000000000000000067f5df029ae8d3f941abef0bec6462a6b4e4b522',
      amount: 32000000000,
      signature:
        '84ac838e2d57e3654c827f2628a49c97a227e8a095c9079bc01b56ab0c69e64fbca56cfb1afbba3e45fd7110ac687f2314423d7c25010464fa56817b79c0dc21a899aeeca68ac8eb94e82a9f89a54b413ef4816a66557df8547ef6bd8fe78256',
      deposit_message_root: 'f4ffc17aa836627d0b50f9e5cf7fb493be82b73bad40841bc705f810a8ce9e39',
      deposit_data_root: '0398885518a43508b7a927ccec8bec8581d3fd055969a5505bd7830d083efac3',
      fork_version: '00001020',
      network_name: 'goerli',
      deposit_cli_version: '2.7.0',
    },
  },
];
const GOERLI = { name: 'goerli', genesisForkVersion: '0x00001020' as Hex };

function refusal(fn: () => unknown): KeyMaterialError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(KeyMaterialError);
    return error as KeyMaterialError;
  }
  throw new Error('expected a KeyMaterialError');
}

describe('deposit data: Charon golden file', () => {
  it.each(CHARON_GOLDEN.map((c) => [c.entry.pubkey.slice(0, 8), c] as const))('%s: every field as Charon wrote it', (_, c) => {
    const entry = depositData(fromHex(c.secret), {
      withdrawal: { address: c.address, compounding: true },
      network: GOERLI,
      amountGwei: 32_000_000_000,
    });
    expect(entry).toEqual(c.entry);
  });

  it.each(CHARON_GOLDEN.map((c) => [c.entry.pubkey.slice(0, 8), c] as const))('%s: verifyDepositData accepts the golden entry', (_, c) => {
    expect(() => verifyDepositData(c.entry)).not.toThrow();
  });
});

describe('deposit data', () => {
  const secret = generateSecretKey();
  const pubkey = toHex(secretKeyToPublicKey(secret));
  const opts = { withdrawal: { address: '0x321dcb529f3945bc94fecea9d3bc5caf35253b94' as Hex }, network: 'hoodi' } as const;

  it('defaults: 32 ETH, 0x01 credentials, the network\'s genesis fork version; the signature verifies', () => {
    const entry = depositData(secret, opts);
    expect(entry.amount).toBe(32_000_000_000);
    expect(entry.withdrawal_credentials).toBe('010000000000000000000000321dcb529f3945bc94fecea9d3bc5caf35253b94');
    expect(entry.fork_version).toBe('10000910');
    expect(entry.network_name).toBe('hoodi');
    expect(entry.pubkey).toBe(pubkey.slice(2));
    expect(() => verifyDepositData(entry)).not.toThrow();
  });

  it('depositDataFromSignature: a signature over depositSigningRoot gives the same entry; another is refused', () => {
    const root = depositSigningRoot(pubkey, opts);
    const entry = depositDataFromSignature(pubkey, toHex(sign(secret, fromHex(root))), opts);
    expect(entry).toEqual(depositData(secret, opts));
    const wrong = toHex(sign(generateSecretKey(), fromHex(root)));
    expect(refusal(() => depositDataFromSignature(pubkey, wrong, opts)).message).toBe(
      `deposit signature does not verify under ${pubkey} for network hoodi`,
    );
  });

  it('the deposit domain ignores the network\'s genesis validators root and later forks: mainnet = fork 0x00000000', () => {
    expect(depositNetwork('mainnet')).toEqual({ name: 'mainnet', genesisForkVersion: '0x00000000' });
    const onMainnet = depositData(secret, { ...opts, network: 'mainnet' });
    expect(onMainnet.fork_version).toBe('00000000');
    expect(onMainnet.signature).not.toBe(depositData(secret, opts).signature);
  });

  it('verifyDepositData refuses a tampered entry, naming the field', () => {
    const entry = depositData(secret, opts);
    const tampered = (patch: Partial<DepositDataJson>) => refusal(() => verifyDepositData({ ...entry, ...patch })).message;
    expect(tampered({ amount: 16_000_000_000 })).toBe('deposit_message_root: does not match the message fields');
    expect(tampered({ deposit_data_root: '00'.repeat(32) })).toBe('deposit_data_root: does not match the data fields');
    const other = depositData(secret, { ...opts, network: 'mainnet' });
    // A valid signature for another network: roots still match, the signature does not.
    expect(tampered({ signature: other.signature, deposit_data_root: other.deposit_data_root })).toBe(
      'signature: does not verify under the pubkey with fork version 0x10000910',
    );
    expect(tampered({ pubkey: 'zz' })).toBe('pubkey: must be 48 bytes of hex');
  });

  it('withdrawal credentials: address (0x01 / 0x02) or verbatim; bad input refused', () => {
    const address = '0x00000000219ab540356cbb839cbe05303d7705fa' as Hex;
    expect(withdrawalCredentials({ address })).toBe(`0x01${'00'.repeat(11)}${address.slice(2)}`);
    expect(withdrawalCredentials({ address, compounding: true })).toBe(`0x02${'00'.repeat(11)}${address.slice(2)}`);
    const bls = `0x00${'ab'.repeat(31)}` as Hex;
    expect(withdrawalCredentials({ credentials: bls })).toBe(bls);
    expect(refusal(() => withdrawalCredentials({ address: '0x1234' })).code).toBe('invalid_deposit');
    expect(refusal(() => depositData(secret, { ...opts, amountGwei: 999_999_999 })).message).toMatch(/^amount must be an integer number of Gwei/);
  });
});
