template = JSON.parse(JSON.stringify(template)); delete template.layers[0].t; job.data.n = [1, {a: '/'}];
