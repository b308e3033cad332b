import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { TestingModule } from '@nestjs/testing';
import type { Platform } from './platforms.js';

/** A self-signed P-256 certificate for 127.0.0.1, made with the openssl CLI at test time. */
export interface TestCertificate {
  readonly key: string;
  readonly cert: string;
  /** Base64 SHA-256 of the certificate's SPKI, for `--ignore-certificate-errors-spki-list`. */
  readonly spkiHash: string;
}

/** Makes a one-day self-signed P-256 certificate for `IP:127.0.0.1`. */
export function makeCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'nest-secure-session-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const key = readFileSync(join(dir, 'key.pem'), 'utf8');
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const spki = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
    return { key, cert, spkiHash: createHash('sha256').update(spki).digest('base64') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An app listening over HTTPS on 127.0.0.1 (a random port). */
export interface HttpsApp {
  readonly app: INestApplication;
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
}

/** Creates the compiled module's app on `platform`, served over HTTPS with `certificate`. */
export async function listenHttps(
  moduleRef: TestingModule,
  platform: Platform,
  certificate: TestCertificate,
): Promise<HttpsApp> {
  const httpsOptions = { key: certificate.key, cert: certificate.cert };
  const app =
    platform === 'express'
      ? moduleRef.createNestApplication({ logger: false, httpsOptions })
      : moduleRef.createNestApplication<NestFastifyApplication>(
          new FastifyAdapter({ https: httpsOptions }),
          { logger: false },
        );
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return { app, url: `https://127.0.0.1:${address.port}` };
}
