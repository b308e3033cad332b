import { describe, expect, it } from '@jest/globals';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { NodeHttpExchange } from './express.adapter.js';

const NAME = '__Host-sid';

function newResponse(): ServerResponse {
  return new ServerResponse(new IncomingMessage(new Socket()));
}

function exchangeOf(response: ServerResponse): NodeHttpExchange {
  return new NodeHttpExchange(response.req, response);
}

describe('NodeHttpExchange.setCookie', () => {
  it('sets the cookie and Cache-Control: no-store', () => {
    const response = newResponse();
    exchangeOf(response).setCookie(NAME, `${NAME}=a; Path=/`);
    expect(response.getHeader('set-cookie')).toBe(`${NAME}=a; Path=/`);
    expect(response.getHeader('cache-control')).toBe('private, no-store');
  });

  it('replaces a session cookie set earlier in the request and keeps other cookies', () => {
    const response = newResponse();
    response.setHeader('set-cookie', ['theme=dark', `${NAME}=old`, 'lang=en']);
    exchangeOf(response).setCookie(NAME, `${NAME}=; Max-Age=0`);
    exchangeOf(response).setCookie(NAME, `${NAME}=new; Path=/`);
    expect(response.getHeader('set-cookie')).toEqual([
      'theme=dark',
      'lang=en',
      `${NAME}=new; Path=/`,
    ]);
  });

  it('keeps a single other cookie set as a string', () => {
    const response = newResponse();
    response.setHeader('set-cookie', 'theme=dark');
    exchangeOf(response).setCookie(NAME, `${NAME}=a`);
    expect(response.getHeader('set-cookie')).toEqual(['theme=dark', `${NAME}=a`]);
  });

  it('does not touch a cookie whose name only starts with the session name', () => {
    const response = newResponse();
    response.setHeader('set-cookie', [`${NAME}x=keep`]);
    exchangeOf(response).setCookie(NAME, `${NAME}=a`);
    expect(response.getHeader('set-cookie')).toEqual([`${NAME}x=keep`, `${NAME}=a`]);
  });

  it('does nothing once the headers are sent', () => {
    const response = newResponse();
    Object.defineProperty(response, 'headersSent', { value: true });
    expect(() => exchangeOf(response).setCookie(NAME, `${NAME}=a`)).not.toThrow();
    expect(response.getHeader('set-cookie')).toBeUndefined();
  });
});
