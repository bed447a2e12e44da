// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { isSafeLink, renderMarkdown, sanitize } from './render';

/** Parses rendered HTML and reports anything that could run or load. */
function dangers(html: string): string[] {
  const doc = new DOMParser().parseFromString(`<div>${html}</div>`, 'text/html');
  const found: string[] = [];
  for (const el of Array.from(doc.body.querySelectorAll('*'))) {
    const tag = el.tagName.toLowerCase();
    if (['script', 'iframe', 'img', 'svg', 'math', 'object', 'embed', 'style', 'link', 'meta', 'form', 'input',
      'video', 'audio', 'source', 'base', 'frame', 'frameset', 'template'].includes(tag)) {
      found.push(`<${tag}>`);
    }
    for (const attr of Array.from(el.attributes)) {
      const name = attr.name.toLowerCase();
      if (name.startsWith('on') || ['style', 'src', 'srcdoc', 'srcset', 'action', 'formaction', 'xlink:href', 'background', 'poster'].includes(name)) {
        found.push(`${tag}[${name}]`);
      }
      if (name === 'href' && !/^https?:\/\//i.test(attr.value)) found.push(`${tag}[href=${attr.value}]`);
    }
  }
  return found;
}

const payloads: [string, string][] = [
  ['script tag', '<script>alert(1)</script>'],
  ['script in a paragraph', 'Hello <script>window.pwned = 1</script> world'],
  ['img onerror', '<img src=x onerror="alert(1)">'],
  ['svg onload', '<svg onload="alert(1)"><circle r="10"/></svg>'],
  ['svg with script', '<svg><script>alert(1)</script></svg>'],
  ['iframe srcdoc', '<iframe srcdoc="<script>alert(1)</script>"></iframe>'],
  ['iframe src', '<iframe src="https://evil.example"></iframe>'],
  ['javascript: link', '[click](javascript:alert(1))'],
  ['entity-encoded javascript: link', '[click](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))'],
  ['hex-entity javascript: link', '[click](&#x6A;avascript:alert(1))'],
  ['javascript: with spaces and case', '[click]( JaVaScRiPt:alert(1) )'],
  ['javascript: in an HTML anchor', '<a href="javascript:alert(1)">x</a>'],
  ['entity-encoded anchor', '<a href="&#106;avascript:alert(1)">x</a>'],
  ['data: link', '[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)'],
  ['data: image', '![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)'],
  ['remote image', '![tracker](https://evil.example/pixel.png)'],
  ['remote image with title', '![a](https://evil.example/a.png "title")'],
  ['reference image', '![logo][1]\n\n[1]: https://evil.example/logo.png'],
  ['vbscript link', '[x](vbscript:msgbox(1))'],
  ['file link', '[x](file:///etc/passwd)'],
  ['autolink javascript', '<javascript:alert(1)>'],
  ['style tag', '<style>body{background:url(https://evil.example)}</style>'],
  ['style attribute', '<p style="background:url(https://evil.example/x)">x</p>'],
  ['object', '<object data="https://evil.example/x.swf"></object>'],
  ['form', '<form action="https://evil.example"><button>go</button></form>'],
  ['meta refresh', '<meta http-equiv="refresh" content="0;url=https://evil.example">'],
  ['math', '<math><mi xlink:href="javascript:alert(1)">x</mi></math>'],
  ['event handler on a details tag', '<details open ontoggle="alert(1)">x</details>'],
  ['mixed case tag', '<ScRiPt>alert(1)</sCrIpT>'],
  ['broken tag', '<img src="x" onerror=alert(1)//'],
  ['html in a table cell', '| a |\n|---|\n| <img src=x onerror=alert(1)> |'],
  ['link title breaking out', '[x](https://ok.example "a\\" onmouseover=\\"alert(1)")'],
  ['code fence language breaking out', '```"><img src=x onerror=alert(1)>\ncode\n```'],
  ['base tag', '<base href="https://evil.example/">'],
];

describe('the Markdown sanitiser', () => {
  it.each(payloads)('%s: nothing runs or loads', (_name, input) => {
    const html = renderMarkdown(input);
    expect(dangers(html)).toEqual([]);
  });

  it('shows raw HTML as text', () => {
    const html = renderMarkdown('<script>alert(1)</script>');
    const div = document.createElement('div');
    div.innerHTML = html;
    expect(div.textContent).toContain('<script>alert(1)</script>');
    expect(div.querySelector('script')).toBeNull();
  });

  it('keeps http(s) links and marks them external', () => {
    const div = document.createElement('div');
    div.innerHTML = renderMarkdown('See [the docs](https://example.com/docs) and <https://go.dev>.');
    const links = Array.from(div.querySelectorAll('a'));
    expect(links.map((a) => a.getAttribute('href'))).toEqual(['https://example.com/docs', 'https://go.dev']);
    expect(links.every((a) => a.classList.contains('external'))).toBe(true);
  });

  it('drops the href of unsafe links but keeps their text', () => {
    const div = document.createElement('div');
    div.innerHTML = renderMarkdown('[click me](javascript:alert(1))');
    expect(div.textContent).toContain('click me');
    expect(div.querySelector('a[href]')).toBeNull();
  });

  it('turns images into links that load nothing', () => {
    const div = document.createElement('div');
    div.innerHTML = renderMarkdown('![a cat](https://example.com/cat.png)');
    expect(div.querySelector('img')).toBeNull();
    expect(div.textContent).toContain('[image: a cat]');
  });

  it('highlights code blocks and adds a copy button', () => {
    const div = document.createElement('div');
    div.innerHTML = renderMarkdown('```go\nfunc main() { fmt.Println("hi") }\n```');
    expect(div.querySelector('button.copy-code')).not.toBeNull();
    const code = div.querySelector('pre code');
    expect(code?.classList.contains('language-go')).toBe(true);
    expect(code?.querySelector('span.hljs-keyword')?.textContent).toBe('func');
    expect(code?.textContent).toBe('func main() { fmt.Println("hi") }');
  });

  it('renders ordinary Markdown', () => {
    const div = document.createElement('div');
    div.innerHTML = renderMarkdown('# Title\n\n**bold** and *it*\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |');
    expect(div.querySelector('h1')?.textContent).toBe('Title');
    expect(div.querySelector('strong')?.textContent).toBe('bold');
    expect(div.querySelectorAll('li')).toHaveLength(2);
    expect(div.querySelector('td')?.textContent).toBe('1');
  });

  it('sanitize removes buttons other than the copy button and every handler', () => {
    const html = sanitize('<button onclick="x()">a</button><button type="button" class="copy-code">Copy</button>');
    const div = document.createElement('div');
    div.innerHTML = html;
    expect(div.querySelectorAll('button')).toHaveLength(1);
    expect(div.querySelector('button')?.className).toBe('copy-code');
    expect(html).not.toContain('onclick');
  });

  it.each([
    ['https://example.com', true],
    ['HTTP://example.com', true],
    ['javascript:alert(1)', false],
    ['data:text/html,x', false],
    ['//evil.example', false],
    ['/relative', false],
    ['mailto:a@b.c', false],
  ])('isSafeLink(%s) = %s', (href, ok) => {
    expect(isSafeLink(href)).toBe(ok);
  });
});
