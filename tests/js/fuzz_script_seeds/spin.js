try { while (true) {} } catch (e) { console.log(e); }
