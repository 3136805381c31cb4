// @peculiar/x509 2.x throws at load unless a Reflect metadata polyfill is loaded first (its README,
// "Reflect Polyfill Required"). Every use of the library goes through this module, so the order holds.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
