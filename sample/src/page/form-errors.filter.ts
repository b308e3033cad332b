import {
  Catch,
  HttpException,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AccountPage, type PageExtras } from './account-page.js';
import { PAGE_HEADERS } from './page-headers.js';

interface FormRequest {
  url: string;
  body?: { username?: unknown };
}

/** The server's message of an HTTP error, and whether it asks to re-authenticate. */
function describe(exception: HttpException): { message: string; reauthenticate: boolean } {
  const body = exception.getResponse();
  if (typeof body === 'string') {
    return { message: body, reauthenticate: false };
  }
  const { message, reauthenticate } = body as { message?: unknown; reauthenticate?: unknown };
  return {
    message: Array.isArray(message) ? message.join('; ') : String(message ?? exception.message),
    reauthenticate: reauthenticate === true,
  };
}

/**
 * An error of a no-JavaScript form post answers the page again, with the error's status and
 * the server's message by the form it concerns: the sign-in form keeps the username (never the
 * password); a `@FreshSession` refusal shows the "confirm your password" panel.
 */
@Catch(HttpException)
export class FormErrorsFilter implements ExceptionFilter {
  private readonly logger = new Logger(FormErrorsFilter.name);

  constructor(
    private readonly page: AccountPage,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  async catch(exception: HttpException, host: ArgumentsHost): Promise<void> {
    const request = host.switchToHttp().getRequest<FormRequest>();
    const response = host.switchToHttp().getResponse<unknown>();
    const adapter = this.adapterHost.httpAdapter;
    const status = exception.getStatus();
    let markup: string;
    try {
      markup = await this.page.render(this.extras(exception, request));
    } catch (error) {
      // The page needs the session store; without it, the error as JSON.
      this.logger.warn(`Could not render the page for a ${status}: ${(error as Error).message}`);
      adapter.reply(response, exception.getResponse(), status);
      return;
    }
    for (const [name, value] of Object.entries(PAGE_HEADERS)) {
      adapter.setHeader(response, name, value);
    }
    adapter.reply(response, markup, status);
  }

  private extras(exception: HttpException, request: FormRequest): PageExtras {
    const { message, reauthenticate } = describe(exception);
    const path = new URL(request.url, 'http://localhost').pathname;
    if (path === '/account/login') {
      const { username } = request.body ?? {};
      return {
        error: { form: 'login', message },
        username: typeof username === 'string' ? username : undefined,
      };
    }
    if (reauthenticate || path === '/account/reauthenticate') {
      return { error: { form: 'reauthenticate', message }, reauthenticate: true };
    }
    return { error: { form: 'page', message } };
  }
}
