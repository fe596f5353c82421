setText('title', 'x' + NX.get('n'));
layer('bg').sc = '#ff0000';
