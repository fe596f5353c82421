var s = 'a'; while (s.length < 1e7) s += s; template.x = s;
