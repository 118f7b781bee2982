/* TCP_CONNECT streams (tcp.c): connections to ports inside the sandbox. */
#pragma once

/* Frees the sockets of streams that ended during the last batch of events (their
 * watches may still have been referenced by that batch). */
void tcp_collect_garbage(void);
