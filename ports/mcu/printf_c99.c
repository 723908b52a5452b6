/* C99 printf formats for the target tests. Debian's newlib for
 * arm-none-eabi (full and nano) is built without them: "%zu" prints "zu"
 * and "%lld" takes the wrong argument, and the harness prints sizes and
 * CHECK_INT values that way. These definitions take the place of newlib's
 * (a static link takes an archive member only for symbols still undefined)
 * and implement the integer, character and string conversions of C99
 * §7.19.6.1 with every flag, width, precision and length modifier. No
 * floating point: the tests print none, and an %f would show as "?".
 * Test glue only; the library prints nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sink {
	char *p;
	size_t cap, len; /* len counts every character, also those not stored */
} sink;

static void put(sink *s, char ch)
{
	if (s->len + 1 < s->cap)
		s->p[s->len] = ch;
	s->len++;
}

static void pad(sink *s, char ch, int n)
{
	while (n-- > 0)
		put(s, ch);
}

int vsnprintf(char *restrict out, size_t cap, const char *restrict fmt, va_list ap)
{
	sink s = { out, out ? cap : 0, 0 };

	for (; *fmt; fmt++) {
		int left = 0, plus = 0, space = 0, alt = 0, zero = 0, width = 0, prec = -1;
		char lenmod = 0, buf[24], *digits, sign = 0;
		const char *str;
		size_t n;
		uintmax_t u = 0;
		unsigned base = 10;

		if (*fmt != '%') {
			put(&s, *fmt);
			continue;
		}
		for (;; fmt++) {
			char f = fmt[1];
			if (f == '-')
				left = 1;
			else if (f == '+')
				plus = 1;
			else if (f == ' ')
				space = 1;
			else if (f == '#')
				alt = 1;
			else if (f == '0')
				zero = 1;
			else
				break;
		}
		fmt++;
		if (*fmt == '*') {
			width = va_arg(ap, int);
			if (width < 0)
				left = 1, width = -width;
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				width = width * 10 + (*fmt++ - '0');
		}
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					prec = prec * 10 + (*fmt++ - '0');
			}
		}
		if (*fmt == 'h' || *fmt == 'l') {
			lenmod = *fmt++;
			if (*fmt == lenmod)
				lenmod = (char)(lenmod == 'h' ? 'H' : 'L'), fmt++;
		} else if (*fmt == 'z' || *fmt == 'j' || *fmt == 't') {
			lenmod = *fmt++;
		}
		switch (*fmt) {
		case '%':
			put(&s, '%');
			continue;
		case 'c':
			buf[0] = (char)va_arg(ap, int);
			str = buf, n = 1;
			goto text;
		case 's':
			str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			for (n = 0; (prec < 0 || n < (size_t)prec) && str[n]; n++)
				;
		text:
			if (!left)
				pad(&s, ' ', width - (int)n);
			for (size_t i = 0; i < n; i++)
				put(&s, str[i]);
			if (left)
				pad(&s, ' ', width - (int)n);
			continue;
		case 'd':
		case 'i': {
			intmax_t v;
			switch (lenmod) {
			case 'H': v = (signed char)va_arg(ap, int); break;
			case 'h': v = (short)va_arg(ap, int); break;
			case 'l': v = va_arg(ap, long); break;
			case 'L': v = va_arg(ap, long long); break;
			case 'z': v = (intmax_t)va_arg(ap, size_t); break;
			case 'j': v = va_arg(ap, intmax_t); break;
			case 't': v = va_arg(ap, ptrdiff_t); break;
			default: v = va_arg(ap, int); break;
			}
			sign = v < 0 ? '-' : plus ? '+' : space ? ' ' : 0;
			u = v < 0 ? -(uintmax_t)v : (uintmax_t)v;
			break;
		}
		case 'p':
			u = (uintptr_t)va_arg(ap, void *);
			base = 16, alt = 1;
			break;
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			base = *fmt == 'o' ? 8 : *fmt == 'u' ? 10 : 16;
			switch (lenmod) {
			case 'H': u = (unsigned char)va_arg(ap, unsigned); break;
			case 'h': u = (unsigned short)va_arg(ap, unsigned); break;
			case 'l': u = va_arg(ap, unsigned long); break;
			case 'L': u = va_arg(ap, unsigned long long); break;
			case 'z': u = va_arg(ap, size_t); break;
			case 'j': u = va_arg(ap, uintmax_t); break;
			case 't': u = (uintmax_t)va_arg(ap, ptrdiff_t); break;
			default: u = va_arg(ap, unsigned); break;
			}
			break;
		default: /* floating point and anything unknown */
			put(&s, '?');
			continue;
		}
		{
			const char *set = *fmt == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
			int nd, zeros, total, prefix = 0;

			digits = buf + sizeof buf;
			while (u) {
				*--digits = set[u % base];
				u /= base;
			}
			nd = (int)(buf + sizeof buf - digits);
			zeros = prec > nd ? prec - nd : 0;
			if (prec < 0 && !nd)
				zeros = 1; /* "0"; an explicit precision 0 prints no digits for 0 */
			if (alt && base == 8 && !zeros && (nd == 0 || *digits != '0'))
				zeros = 1;
			if (alt && base == 16 && (nd || *fmt == 'p'))
				prefix = 2;
			total = (sign ? 1 : 0) + prefix + zeros + nd;
			if (zero && !left && prec < 0 && width > total)
				zeros += width - total, total = width;
			if (!left)
				pad(&s, ' ', width - total);
			if (sign)
				put(&s, sign);
			if (prefix) {
				put(&s, '0');
				put(&s, *fmt == 'X' ? 'X' : 'x');
			}
			pad(&s, '0', zeros);
			for (int i = 0; i < nd; i++)
				put(&s, digits[i]);
			if (left)
				pad(&s, ' ', width - total);
		}
	}
	if (s.cap)
		s.p[s.len < s.cap ? s.len : s.cap - 1] = 0;
	return (int)s.len;
}

int snprintf(char *restrict out, size_t cap, const char *restrict fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	return n;
}

int vsprintf(char *restrict out, const char *restrict fmt, va_list ap)
{
	return vsnprintf(out, PTRDIFF_MAX, fmt, ap);
}

int sprintf(char *restrict out, const char *restrict fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, PTRDIFF_MAX, fmt, ap);
	va_end(ap);
	return n;
}

int vfprintf(FILE *restrict f, const char *restrict fmt, va_list ap)
{
	char small[256], *p = small;
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(small, sizeof small, fmt, ap);
	if (n >= (int)sizeof small) {
		p = malloc((size_t)n + 1);
		if (!p)
			abort();
		vsnprintf(p, (size_t)n + 1, fmt, again);
	}
	va_end(again);
	if (fwrite(p, 1, (size_t)n, f) != (size_t)n)
		n = -1;
	if (p != small)
		free(p);
	return n;
}

int fprintf(FILE *restrict f, const char *restrict fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vfprintf(f, fmt, ap);
	va_end(ap);
	return n;
}

int vprintf(const char *restrict fmt, va_list ap)
{
	return vfprintf(stdout, fmt, ap);
}

int printf(const char *restrict fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vfprintf(stdout, fmt, ap);
	va_end(ap);
	return n;
}
