/** watched.back's alert levels, as its Lua alerters saw them (globals of the same names). */
export const LUA_LEVELS = { ok: 0, notice: 1, info: 2, warning: 3, error: 4, critical: 5 } as const;
