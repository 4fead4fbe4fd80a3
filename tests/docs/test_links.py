#!/usr/bin/env python3
"""Every relative link and image in README.md and docs/*.md names a file
that exists, and every #anchor into a Markdown file names one of its
headings (GitHub's slug rule: lower case, punctuation dropped, spaces to
dashes). External links (http:, https:, mailto:) are not followed: the
machines that run the tests reach no network."""
import os
import re
import sys
import unittest

ROOT = os.getcwd()
LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
FENCE = re.compile(r'^\s*```')


def markdown_files():
    yield 'README.md'
    for name in sorted(os.listdir(os.path.join(ROOT, 'docs'))):
        if name.endswith('.md'):
            yield os.path.join('docs', name)


def prose_lines(path):
    """Lines outside fenced code blocks, with inline code removed."""
    fenced = False
    with open(os.path.join(ROOT, path), encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if FENCE.match(line):
                fenced = not fenced
                continue
            if not fenced:
                yield n, re.sub(r'`[^`]*`', '', line)


def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r'[^\w\- ]', '', s)
    return s.replace(' ', '-')


def anchors(path):
    seen = {}
    out = set()
    for _, line in prose_lines(path):
        m = re.match(r'^#{1,6}\s+(.*?)\s*#*\s*$', line)
        if not m:
            continue
        s = slug(m.group(1))
        k = seen.get(s, 0)
        seen[s] = k + 1
        out.add(s if k == 0 else '%s-%d' % (s, k))
    return out


def broken_links():
    bad = []
    cache = {}
    for md in markdown_files():
        base = os.path.dirname(md)
        for n, line in prose_lines(md):
            for target in LINK.findall(line):
                if re.match(r'^[a-z]+:', target):
                    continue
                path, _, frag = target.partition('#')
                dest = os.path.normpath(os.path.join(base, path)) if path else md
                if not os.path.exists(os.path.join(ROOT, dest)):
                    bad.append('%s:%d: %s: no such file' % (md, n, target))
                    continue
                if frag and dest.endswith('.md'):
                    if dest not in cache:
                        cache[dest] = anchors(dest)
                    if frag not in cache[dest]:
                        bad.append('%s:%d: %s: no such heading' % (md, n, target))
    return bad


class Links(unittest.TestCase):
    def test_slug(self):
        self.assertEqual(slug('Scale (2026-12-02, evening: another host)'),
                         'scale-2026-12-02-evening-another-host')
        self.assertEqual(slug('P8. Compact blocks'), 'p8-compact-blocks')

    def test_every_relative_link_resolves(self):
        bad = broken_links()
        self.assertEqual(bad, [], '\n' + '\n'.join(bad))


if __name__ == '__main__':
    unittest.main(argv=sys.argv[:1], verbosity=2)
