import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { HOST_PACKAGES } from './host-checks.js';

const setupPath = fileURLToPath(new URL('../../scripts/setup.mjs', import.meta.url));

interface Edit {
  text: string;
  changed: boolean;
}
interface SetupModule {
  HOST_PACKAGES: string[];
  enableDebSrcDeb822(text: string): Edit;
  enableDebSrcClassic(text: string): Edit;
  isDebianArchive(uri: string, components: string[]): boolean;
  missingFromDpkgQuery(stdout: string, wanted: string[]): string[];
}

// A variable specifier: the plain-JS script has no type declarations.
const setup = (await import(setupPath)) as SetupModule;

/** /etc/apt/sources.list.d/debian.sources as Debian's bookworm images ship it. */
const BOOKWORM_DEB822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

describe('scripts/setup.mjs: deb-src for `apt-get source kubernetes`', () => {
  test('deb822: every Debian stanza gets deb-src, once', () => {
    const edit = setup.enableDebSrcDeb822(BOOKWORM_DEB822);
    expect(edit.changed).toBe(true);
    expect(edit.text.match(/^Types: deb deb-src$/gm)).toHaveLength(2);
    expect(edit.text.replaceAll('Types: deb deb-src', 'Types: deb')).toBe(BOOKWORM_DEB822);
    expect(setup.enableDebSrcDeb822(edit.text).changed).toBe(false);
  });

  test('deb822: disabled stanzas and third-party repositories are left alone', () => {
    const text = `Types: deb\nURIs: https://download.docker.com/linux/debian\nSuites: bookworm\nComponents: stable\n\nTypes: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n`;
    expect(setup.enableDebSrcDeb822(text)).toEqual({ text, changed: false });
  });

  test('classic: a deb-src line after each Debian deb line, with its signed-by but not its arch', () => {
    const text = [
      'deb [arch=amd64 signed-by=/usr/share/keyrings/debian.gpg] http://deb.debian.org/debian bookworm main',
      'deb http://security.debian.org/debian-security bookworm-security main contrib',
      'deb https://download.docker.com/linux/debian bookworm stable',
      '',
    ].join('\n');
    const edit = setup.enableDebSrcClassic(text);
    expect(edit.text.split('\n')).toEqual([
      'deb [arch=amd64 signed-by=/usr/share/keyrings/debian.gpg] http://deb.debian.org/debian bookworm main',
      'deb-src [signed-by=/usr/share/keyrings/debian.gpg] http://deb.debian.org/debian bookworm main',
      'deb http://security.debian.org/debian-security bookworm-security main contrib',
      'deb-src http://security.debian.org/debian-security bookworm-security main contrib',
      'deb https://download.docker.com/linux/debian bookworm stable',
      '',
    ]);
    expect(setup.enableDebSrcClassic(edit.text).changed).toBe(false);
  });

  test('classic: a commented-out deb-src line is enabled in place', () => {
    const text = 'deb http://deb.debian.org/debian bookworm main\n#deb-src http://deb.debian.org/debian bookworm main\n';
    expect(setup.enableDebSrcClassic(text).text).toBe('deb http://deb.debian.org/debian bookworm main\ndeb-src http://deb.debian.org/debian bookworm main\n');
  });

  test('mirrors of the Debian archive count, look-alikes do not', () => {
    expect(setup.isDebianArchive('http://ftp.de.debian.org/debian/', ['main'])).toBe(true);
    expect(setup.isDebianArchive('http://mirror.example.net/debian', ['main', 'contrib'])).toBe(true);
    expect(setup.isDebianArchive('https://download.docker.com/linux/debian', ['stable'])).toBe(false);
    expect(setup.isDebianArchive('not a uri', ['main'])).toBe(false);
  });
});

describe('scripts/setup.mjs: packages', () => {
  test('installs exactly what doctor checks', () => {
    expect(setup.HOST_PACKAGES).toEqual([...HOST_PACKAGES]);
  });

  test('reads dpkg-query status lines, including half-installed and multiarch ones', () => {
    const stdout = 'kmod install ok installed\ncpio deinstall ok config-files\nbusybox-static:amd64 install ok installed\n';
    expect(setup.missingFromDpkgQuery(stdout, ['kmod', 'cpio', 'busybox-static', 'tini'])).toEqual(['cpio', 'tini']);
  });

  test('an arch-qualified package (libseccomp-dev:arm64) is installed only when that arch is', () => {
    const native = 'libseccomp-dev:amd64 install ok installed\n';
    expect(setup.missingFromDpkgQuery(native, ['libseccomp-dev', 'libseccomp-dev:arm64'])).toEqual(['libseccomp-dev:arm64']);
    expect(setup.missingFromDpkgQuery(`${native}libseccomp-dev:arm64 install ok installed\n`, ['libseccomp-dev', 'libseccomp-dev:arm64'])).toEqual([]);
  });

  test('--check on this host changes nothing and answers quickly: one line when ready, the root commands otherwise', async () => {
    const started = Date.now();
    const result = await execa(process.execPath, [setupPath, '--check'], { reject: false, cwd: '/tmp' });
    expect(Date.now() - started).toBeLessThan(5000);
    if (result.exitCode === 0) expect(String(result.stdout).trim().split('\n')).toEqual([expect.stringContaining('setup: host ready')]);
    else expect(String(result.stdout)).toMatch(/need root|not a Debian host|npm dependencies/);
  });
});
