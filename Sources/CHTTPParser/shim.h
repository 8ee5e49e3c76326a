// Thin shim over Debian's libhttp-parser-dev (the Node.js HTTP/1.1 parser): accessors for
// the parser's bit-fields and macros, which Swift does not import reliably.
#ifndef RUNNEL_CHTTPPARSER_SHIM_H
#define RUNNEL_CHTTPPARSER_SHIM_H
#include <http_parser.h>

static inline unsigned int runnel_http_errno(const http_parser *p) { return p->http_errno; }
static inline unsigned int runnel_http_method(const http_parser *p) { return p->method; }
static inline unsigned int runnel_http_upgrade(const http_parser *p) { return p->upgrade; }
#endif
