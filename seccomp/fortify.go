package seccomp

// Linked with musl (the Makefile's default), skiff still takes libseccomp
// from Debian's archive, built against glibc with _FORTIFY_SOURCE: its
// filter printer (seccomp_export_pfc, which skiff never calls) uses glibc's
// checked fprintf, the one symbol of glibc's that musl lacks. It lives
// here, in the one package every program that links libseccomp imports.

/*
#ifndef __GLIBC__
#include <stdarg.h>
#include <stdio.h>

int __fprintf_chk(FILE *f, int flag, const char *fmt, ...);
int __fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vfprintf(f, fmt, ap);
	va_end(ap);
	return n;
}
#endif
*/
import "C"
