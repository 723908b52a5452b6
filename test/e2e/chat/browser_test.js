#!/usr/bin/env node
// The chat page in a real browser: Debian's Chromium, headless, driven by
// playwright-core (which downloads no browser). Two pages join their room as
// they open (the token has "+ / =" in it) and see each other's messages
// (markup shown as text); one page's connection is cut without a close frame
// (by a relay of the test's own, which then refuses it for a while) as the
// other sends 50 numbered messages: the page reconnects by itself, resumes
// and shows all 50 exactly once, in order; cut off for longer than the
// history, it says it missed some; a wrong token is refused. Prints
// "chat-browser: N passed, M failed" and saves a screenshot.
'use strict';
const { chromium } = require('playwright-core');
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');

const arg = (name, def) => {
	const i = process.argv.indexOf('--' + name);
	return i > 0 ? process.argv[i + 1] : def;
};
const bin = arg('bin', 'build/examples');
const page = arg('page', 'demos/chat/index.html');
const exe = arg('chromium', '/usr/bin/chromium');
const shot = arg('screenshot', 'build/chat-screenshot.png');
const TOKEN = 'browser+tok/en=';
let passed = 0, failed = 0;

function check(name, ok, detail) {
	if (ok) passed++; else failed++;
	console.log((ok ? 'ok   ' : 'FAIL ') + name + (ok || detail === undefined ? '' : ': ' + JSON.stringify(detail)));
}

function startServer(extra) {
	return new Promise((resolve, reject) => {
		const p = spawn(path.join(bin, 'chat-server'), ['--port', '0', '--token', TOKEN, '--page', page,
			...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
		let out = '';
		p.on('error', reject);
		p.stdout.on('data', (d) => {
			out += d;
			const m = /listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
			if (m) resolve({ p, port: +m[1] });
		});
	});
}

// A TCP relay in front of the server: a page loaded through it connects
// through it, and cut() hangs up on both sides without a close frame, as a
// dying proxy or a lost network does.
function startRelay() {
	const socks = new Set();
	const relay = { port: 0, target: 0, blocked: false, cut: () => { for (const s of socks) s.destroy(); } };
	relay.server = net.createServer((c) => {
		if (relay.blocked) return c.destroy();
		const up = net.connect(relay.target, '127.0.0.1');
		const end = () => { c.destroy(); up.destroy(); socks.delete(c); socks.delete(up); };
		for (const s of [c, up]) { socks.add(s); s.on('error', end); s.on('close', end); }
		c.pipe(up);
		up.pipe(c);
	});
	return new Promise((r) => relay.server.listen(0, '127.0.0.1', () => r(Object.assign(relay,
		{ port: relay.server.address().port }))));
}

async function main(deflate) {
	const relay = await startRelay();
	// --deflate last: chat-server takes the word after an option it passes on as its value.
	const srv = await startServer(['--allow-origin', `http://127.0.0.1:${relay.port}`, '--rate', '50',
		'--burst', '60', ...(deflate ? ['--deflate'] : [])]);
	relay.target = srv.port;
	const base = `http://127.0.0.1:${srv.port}/`;
	const tag = deflate ? ' (permessage-deflate)' : '';
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'libws-chat-chromium-'));
	// launchPersistentContext: a fresh --user-data-dir of our own.
	const ctx = await chromium.launchPersistentContext(profile, {
		executablePath: exe,
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
			'--disable-component-update', '--disable-sync'],
		viewport: { width: 800, height: 500 },
		timeout: 20000,
	});
	ctx.setDefaultTimeout(8000);
	try {
		const open = async (user, token, via = base, room = 'lobby') => {
			const pg = await ctx.newPage();
			pg.on('pageerror', (e) => check('no page error on ' + user, false, String(e)));
			await pg.goto(`${via}?token=${token}&user=${user}&room=${room}`);
			return pg;
		};
		const logHas = (pg, text) => pg.waitForFunction((t) => [...document.querySelectorAll('#log li')]
			.some((li) => li.textContent.includes(t)), text);
		const say = async (pg, text) => {
			await pg.fill('#text', text);
			await pg.press('#text', 'Enter');
		};

		const a = await open('alice', TOKEN, `http://127.0.0.1:${relay.port}/`);
		await a.waitForFunction(() => document.getElementById('state').textContent === 'open');
		check(`page A connects${tag}`, true);
		const ext = await a.evaluate(() => window.chat.ws.extensions);
		check(`negotiated extensions${tag}: "${ext}"`, deflate ? ext.startsWith('permessage-deflate') : ext === '', ext);
		await logHas(a, 'joined lobby as alice');
		check(`page A joins its room as it opens, token with + / =${tag}`, true);
		const b = await open('bob', TOKEN);
		await b.waitForFunction(() => document.getElementById('state').textContent === 'open');
		await logHas(b, 'joined lobby as bob');
		await logHas(a, 'bob joined');
		check('A sees B join', true);
		check('presence count 2 on A', (await a.textContent('#count')) === '2 here', await a.textContent('#count'));

		const evil = 'hello from alice <img src=x onerror="window.pwned=1">';
		await say(a, evil);
		await logHas(b, evil);
		check('B sees A\'s message, markup as text', true);
		check('no element injected on B', await b.evaluate(() => !document.querySelector('#log img') && !window.pwned));
		await say(b, 'hi alice');
		await logHas(a, 'hi alice');
		check('A sees B\'s message', true);

		// A's connection is cut without a close frame, both ways, and its
		// reconnects are refused while B sends 50 numbered messages.
		const numbered = (pg, prefix) => pg.evaluate((p) => [...document.querySelectorAll('#log li')]
			.map((li) => (new RegExp('bob: ' + p + '(\\d+)$').exec(li.textContent) || [])[1])
			.filter((n) => n !== undefined).map(Number), prefix);
		const sendN = (pg, prefix, from, n) => pg.evaluate(([p, f, k]) => {
			for (let i = f; i < f + k; i++) window.chat.ws.send(JSON.stringify({ type: 'message', text: p + i }));
		}, [prefix, from, n]);
		relay.blocked = true;
		relay.cut();
		await a.waitForFunction(() => window.chat.lastClose === 1006);
		await sendN(b, 'n-', 0, 50);
		await logHas(b, 'bob: n-49');
		relay.blocked = false;
		await a.waitForFunction(() => window.chat.opens === 2 && document.getElementById('state').textContent === 'open',
			null, { timeout: 10000 });
		check(`A reconnects by itself after its connection was cut${tag}`, true);
		await logHas(a, 'bob: n-49');
		check(`A resumed its room after reconnecting${tag}`,
			(await a.evaluate(() => document.getElementById('log').textContent)).includes('joined lobby as alice (resumed)'));
		const got = await numbered(a, 'n-');
		check(`A shows all 50 messages sent while it was away, once each, in order${tag}`,
			got.length === 50 && got.every((n, i) => n === i), got);
		check(`A's earlier log is kept${tag}`, (await a.evaluate(() => document.getElementById('log').textContent))
			.includes('hi alice'));
		await say(a, 'alice is back');
		await logHas(b, 'alice is back');
		check(`A keeps chatting after the reconnect${tag}`, true);
		if (!deflate) {
			// Away for more than the 100 kept (--history's default): the page
			// says so, then shows the 100.
			relay.blocked = true;
			relay.cut();
			await a.waitForFunction(() => window.chat.lastClose === 1006 && window.chat.ws.readyState !== 1);
			await sendN(b, 'm-', 0, 60);
			await logHas(b, 'bob: m-59');
			await new Promise((r) => setTimeout(r, 1500)); // --rate 50: room for the 50 more
			await sendN(b, 'm-', 60, 50);
			await logHas(b, 'bob: m-109');
			relay.blocked = false;
			await a.waitForFunction(() => window.chat.opens === 3, null, { timeout: 10000 });
			await logHas(a, 'bob: m-109');
			const m = await numbered(a, 'm-');
			check('away past the history: the page says messages were missed, then shows the 100 kept',
				(await a.evaluate(() => document.getElementById('log').textContent)).includes('some messages were missed') &&
				m.length === 100 && m.every((n, i) => n === i + 10), m);
		}

		if (!deflate) {
			let got = '';
			const rec = net.createServer((sock) => sock.on('data', (d) => { got += d; }));
			await new Promise((r) => rec.listen(0, '127.0.0.1', r));
			const blank = await ctx.newPage(); // about:blank: no CSP of ours in the way
			await blank.evaluate((u) => { window.probe = new WebSocket(u); }, `ws://127.0.0.1:${rec.address().port}/`);
			const t0 = Date.now();
			while (!got.includes('\r\n\r\n') && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
			rec.close();
			const offer = (/^sec-websocket-extensions: *(.*)$/im.exec(got) || [])[1] || '';
			const ua = (/^user-agent: *(.*)$/im.exec(got) || [])[1] || '';
			console.log(`     ${ua.replace(/.*(Chrome\/\S+).*/, '$1')} offers: Sec-WebSocket-Extensions: ${offer.trim()}`);
			check('Chromium offers permessage-deflate', /permessage-deflate/.test(offer), offer);
			await blank.close();
		}

		const c = await open('mallory', 'wrong-token');
		await logHas(c, 'disconnected (1006)');
		const st = await c.evaluate(() => ({ opens: window.chat.opens, state: document.getElementById('state').textContent }));
		check('wrong token is refused (never opens)', st.opens === 0 && st.state !== 'open', st);
		const r = await c.evaluate(async (u) => (await fetch(u)).status, base + 'nope');
		check('the page\'s server answers 404 off the page', r === 404, r);
		await c.close();

		// Policy closes reach the page's onclose with their codes.
		const f = await open('flood', TOKEN, base, 'floodroom'); // its own room: the screenshot stays readable
		await f.waitForFunction(() => document.getElementById('state').textContent === 'open');
		await f.evaluate(() => { for (let i = 0; i < 200; i++) window.chat.ws.send(JSON.stringify({ type: 'message', text: 'x' })); });
		await f.waitForFunction(() => window.chat.lastClose !== null);
		check(`flooding page sees 1008${tag}`, (await f.evaluate(() => window.chat.lastClose)) === 1008);
		await f.waitForFunction(() => window.chat.opens === 2 && window.chat.ws.readyState === 1, null, { timeout: 10000 }); // backed off, back
		await f.evaluate(() => window.chat.ws.send('{"type":"message","text":"' + 'y'.repeat(5000) + '"}'));
		await f.waitForFunction(() => window.chat.lastClose === 1009).catch(() => {});
		check(`oversized message: page sees 1009${tag}`, (await f.evaluate(() => window.chat.lastClose)) === 1009);
		await f.close();

		if (!deflate) {
			fs.mkdirSync(path.dirname(shot), { recursive: true });
			await b.screenshot({ path: shot });
			check('screenshot saved to ' + shot, fs.statSync(shot).size > 1000);
		}
		const exited = new Promise((r) => srv.p.on('exit', (code) => r(code)));
		srv.p.kill('SIGTERM');
		await b.waitForFunction(() => window.chat.lastClose === 1001);
		check(`SIGTERM: the page sees 1001${tag}`, true);
		check(`SIGTERM: the server exits 0${tag}`, (await exited) === 0);
	} finally {
		await ctx.close().catch(() => {});
		srv.p.kill('SIGTERM');
		relay.server.close();
		fs.rmSync(profile, { recursive: true, force: true });
	}
}

const guard = setTimeout(() => {
	console.log('FAIL browser test timed out');
	console.log(`chat-browser: ${passed} passed, ${failed + 1} failed`);
	process.exit(1);
}, 50000);
main(false).then(() => main(true)).catch((e) => check('browser test ran to the end', false, String(e && e.message || e).split('\n')[0]))
	.finally(() => {
		clearTimeout(guard);
		console.log(`chat-browser: ${passed} passed, ${failed} failed`);
		process.exit(failed || !passed ? 1 : 0);
	});
