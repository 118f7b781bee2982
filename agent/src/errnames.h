/* errno values as the names the wire carries (`ERROR {errno: "ENOENT"}`). */
#pragma once

/* The symbolic name of err; "EUNKNOWN" for a value not in the table. */
const char *errno_name(int err);
