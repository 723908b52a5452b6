#!/usr/bin/env node
// The chat page in Chromium for redis_test.py: opens URL (nginx in front of
// two chat-server instances), waits until the page has joined ROOM and says
// "joined" on stdout; then, told "sent N" on stdin (its instance has been
// killed and N numbered messages "n-0".."n-(N-1)" sent by "bob" meanwhile),
// waits until the page shows the last one and prints one JSON line: how
// often it opened, whether it said "(resumed)", how many gaps it was told
// of, and the numbers it shows, in the order it shows them.
'use strict';
const { chromium } = require('playwright-core');
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');

const arg = (name, def) => {
	const i = process.argv.indexOf('--' + name);
	return i > 0 ? process.argv[i + 1] : def;
};
const url = arg('url');
const exe = arg('chromium', '/usr/bin/chromium');

async function main() {
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'libws-chat-chromium-'));
	const ctx = await chromium.launchPersistentContext(profile, {
		executablePath: exe,
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync'],
		timeout: 20000,
	});
	try {
		const pg = await ctx.newPage();
		await pg.goto(url);
		await pg.waitForFunction(() => [...document.querySelectorAll('#log li')]
			.some((li) => li.textContent.includes('joined ')), null, { timeout: 10000 });
		console.log('joined');
		const n = await new Promise((r) => readline.createInterface({ input: process.stdin })
			.once('line', (l) => r(+l.split(' ')[1])));
		await pg.waitForFunction((k) => [...document.querySelectorAll('#log li')]
			.some((li) => li.textContent.endsWith('bob: n-' + (k - 1))), n, { timeout: 15000 }).catch(() => {});
		console.log(JSON.stringify(await pg.evaluate(() => ({
			opens: window.chat.opens,
			gaps: window.chat.gaps,
			resumed: document.getElementById('log').textContent.includes('(resumed)'),
			numbers: [...document.querySelectorAll('#log li')]
				.map((li) => (/bob: n-(\d+)$/.exec(li.textContent) || [])[1])
				.filter((x) => x !== undefined).map(Number),
		}))));
	} finally {
		await ctx.close().catch(() => {});
		fs.rmSync(profile, { recursive: true, force: true });
	}
}

main().then(() => process.exit(0), (e) => {
	console.log(JSON.stringify({ error: String(e && e.message || e).split('\n')[0] }));
	process.exit(1);
});
