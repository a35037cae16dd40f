// Signing with a CA key through node:crypto, for certificates and CRLs alike. node-forge can only
// sign with RSA keys; node:crypto signs with RSA and ECDSA, and its ECDSA signatures are already the
// DER `Ecdsa-Sig-Value` that X.509 expects, so one path serves every CA algorithm.
import { sign, type KeyObject } from 'node:crypto';
import { bitString, nullValue, oid, seq, sequence, type Asn1Node } from './asn1.js';
import { describeKey } from './keys.js';
import { OID } from './oids.js';

export interface Signer {
  /** `AlgorithmIdentifier` placed both inside the signed data and next to the signature. */
  algorithmIdentifier: Asn1Node;
  /** OpenSSL's name of the signature algorithm, for messages and tests. */
  algorithmName: string;
  sign(data: Buffer): Buffer;
}

/**
 * RSA CAs sign with sha256WithRSAEncryption (PKCS#1 v1.5). ECDSA CAs use the hash that matches the
 * curve's strength (RFC 5480 4): SHA-256 for P-256, SHA-384 for P-384, SHA-512 for P-521.
 */
export function signerFor(caKey: KeyObject, label: string): Signer {
  const { algorithm, size } = describeKey(caKey, label, 'tls.key');
  if (algorithm === 'RSA') {
    return {
      // RFC 4055 2.1: the parameters of the PKCS#1 v1.5 algorithms are NULL, not absent.
      algorithmIdentifier: seq([oid(OID.sha256WithRSAEncryption), nullValue()]),
      algorithmName: 'sha256WithRSAEncryption',
      sign: (data) => sign('sha256', data, caKey),
    };
  }
  const [hash, algorithmOid, algorithmName] =
    size === 256
      ? (['sha256', OID.ecdsaWithSHA256, 'ecdsa-with-SHA256'] as const)
      : size === 384
        ? (['sha384', OID.ecdsaWithSHA384, 'ecdsa-with-SHA384'] as const)
        : (['sha512', OID.ecdsaWithSHA512, 'ecdsa-with-SHA512'] as const);
  return {
    // RFC 5758 3.2: the ECDSA algorithms have no parameters at all.
    algorithmIdentifier: seq([oid(algorithmOid)]),
    algorithmName,
    sign: (data) => sign(hash, data, { key: caKey, dsaEncoding: 'der' }),
  };
}

/** `SEQUENCE { toBeSigned, signatureAlgorithm, signatureValue }`: the shape of certificates and CRLs. */
export function signStructure(toBeSigned: Buffer, signer: Signer): Buffer {
  return sequence([toBeSigned, signer.algorithmIdentifier, bitString(signer.sign(toBeSigned))]);
}
