// PEM framing (RFC 7468): find blocks, convert to and from DER. Nothing here quotes input text in
// an error, since a block might be a private key.
export interface PemBlock {
  /** The label between BEGIN and END, e.g. `CERTIFICATE` or `EC PRIVATE KEY`. */
  label: string;
  der: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Every PEM block in `text`, in order; text between blocks is ignored, as OpenSSL does. */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    // Drop RFC 1421 headers (e.g. `Proc-Type:` in legacy encrypted keys) before the base64.
    const body = match[2]!
      .split(/\r?\n/)
      .filter((line) => !line.includes(':'))
      .join('');
    blocks.push({ label: match[1]!, der: Buffer.from(body.replace(/\s+/g, ''), 'base64') });
  }
  return blocks;
}

export function derToPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The certificates of a bundle (e.g. a `ca.crt` holding old and new CA), each as normalised PEM. */
export function splitPemBundle(text: string): string[] {
  return pemBlocks(text)
    .filter((block) => block.label === 'CERTIFICATE')
    .map((block) => derToPem('CERTIFICATE', block.der));
}
