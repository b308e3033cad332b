import { Injectable } from '@nestjs/common';
import { scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keyLength: number,
) => Promise<Buffer>;

/** A demo account: the password is kept only as an scrypt hash. */
interface DemoUser {
  id: string;
  username: string;
  roles: string[];
  salt: Buffer;
  passwordHash: Buffer;
}

const KEY_LENGTH = 32;

function hashPassword(password: string, salt: Buffer): Buffer {
  return scryptSync(password, salt, KEY_LENGTH);
}

function demoUser(id: string, username: string, roles: string[], password: string): DemoUser {
  const salt = Buffer.from(`nest-secure-session-demo-${username}`);
  return { id, username, roles, salt, passwordHash: hashPassword(password, salt) };
}

/** The sample's user directory: alice (user) and admin (user, admin). */
@Injectable()
export class UsersService {
  private readonly users = [
    demoUser('1', 'alice', ['user'], 'alice-password'),
    demoUser('2', 'admin', ['user', 'admin'], 'admin-password'),
  ];
  private readonly unknownUser = demoUser('0', '', [], 'no-such-user');

  /**
   * The user whose credentials these are, or `null`. Takes as long for unknown usernames. The
   * hash runs on libuv's thread pool: a synchronous scrypt would hold the event loop for its
   * whole ~50 ms (much longer on a busy machine), delaying every other request, and timers
   * such as the Redis client's command timeout would fire before replies already received.
   */
  async verify(
    username: unknown,
    password: unknown,
  ): Promise<{ id: string; roles: string[] } | null> {
    if (typeof username !== 'string' || typeof password !== 'string' || password.length > 1024) {
      return null;
    }
    const user = this.users.find((candidate) => candidate.username === username);
    const target = user ?? this.unknownUser;
    const hash = await scryptAsync(password, target.salt, KEY_LENGTH);
    const matches = timingSafeEqual(hash, target.passwordHash);
    return user !== undefined && matches ? { id: user.id, roles: user.roles } : null;
  }
}
