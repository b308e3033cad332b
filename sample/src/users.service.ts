import { Injectable } from '@nestjs/common';
import { scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keyLength: number,
) => Promise<Buffer>;

/** A demo account: the password is kept only as an scrypt hash. The username is the user id. */
interface DemoUser {
  username: string;
  roles: string[];
  salt: Buffer;
  passwordHash: Buffer;
}

/** What a successful check yields: the user id (the username) and the roles. */
export interface VerifiedUser {
  id: string;
  roles: string[];
}

const KEY_LENGTH = 32;
const MAX_PASSWORD_LENGTH = 1024;

function hashPassword(password: string, salt: Buffer): Buffer {
  return scryptSync(password, salt, KEY_LENGTH);
}

function demoUser(username: string, roles: string[], password: string): DemoUser {
  const salt = Buffer.from(`nest-secure-session-demo-${username}`);
  return { username, roles, salt, passwordHash: hashPassword(password, salt) };
}

/** The sample's user directory: alice (user) and admin (user, admin). */
@Injectable()
export class UsersService {
  private readonly users = [
    demoUser('alice', ['user'], 'alice-password'),
    demoUser('admin', ['user', 'admin'], 'admin-password'),
  ];
  private readonly unknownUser = demoUser('', [], 'no-such-user');

  /**
   * The user whose credentials these are, or `null`. Takes as long for unknown usernames. The
   * hash runs on libuv's thread pool: a synchronous scrypt would hold the event loop for its
   * whole ~50 ms (much longer on a busy machine), delaying every other request, and timers
   * such as the Redis client's command timeout would fire before replies already received.
   */
  async verify(username: unknown, password: unknown): Promise<VerifiedUser | null> {
    if (
      typeof username !== 'string' ||
      typeof password !== 'string' ||
      password.length > MAX_PASSWORD_LENGTH
    ) {
      return null;
    }
    const user = this.users.find((candidate) => candidate.username === username);
    const target = user ?? this.unknownUser;
    const hash = await scryptAsync(password, target.salt, KEY_LENGTH);
    const matches = timingSafeEqual(hash, target.passwordHash);
    return user !== undefined && matches ? { id: user.username, roles: user.roles } : null;
  }

  /** Every user id, for the admin's overview. */
  ids(): string[] {
    return this.users.map((user) => user.username);
  }

  exists(id: string): boolean {
    return this.users.some((user) => user.username === id);
  }
}
