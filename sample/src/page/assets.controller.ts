import { Controller, Get, Header } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { Public } from 'nest-secure-session';

/** `sample/public/`, from `sample/src/page/` and `sample/dist/page/` alike. */
const PUBLIC_DIR = new URL('../../public/', import.meta.url);

function asset(name: string): string {
  return readFileSync(new URL(name, PUBLIC_DIR), 'utf8');
}

/** The page's stylesheet and script (read once, at start-up). */
@Controller('assets')
export class AssetsController {
  private readonly css = asset('page.css');
  private readonly script = asset('page.js');

  @Public()
  @Get('page.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'no-cache')
  stylesheet(): string {
    return this.css;
  }

  @Public()
  @Get('page.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'no-cache')
  javascript(): string {
    return this.script;
  }
}
