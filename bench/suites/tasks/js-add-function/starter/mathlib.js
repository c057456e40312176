'use strict';

function sum(numbers) {
  return numbers.reduce((total, n) => total + n, 0);
}

function max(numbers) {
  return Math.max(...numbers);
}

module.exports = { sum, max };
