/* Routes a decoded host frame (after HELLO) to the request handler or the stream it
 * belongs to. */
#pragma once

#include "frame.h"

void dispatch(const struct msg *m);

/* Request handlers: each answers on m->stream (a reply, or a stream that will). */
void proc_exec(const struct msg *m);
void proc_attach(const struct msg *m);
void proc_ps(const struct msg *m);
void files_fread(const struct msg *m);
void files_fwrite(const struct msg *m);
void files_stat(const struct msg *m);
void files_list(const struct msg *m);
void files_mkdir(const struct msg *m);
void files_remove(const struct msg *m);
void files_rename(const struct msg *m);
void config_configure(const struct msg *m);
void config_ping(const struct msg *m);
void tcp_connect(const struct msg *m);
