'use strict';

// Capitalise the first letter of every word; the rest of each word becomes lowercase.
function titleCase(text) {
  return text
    .split(' ')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1).toLowerCase())
    .join(' ');
}

module.exports = { titleCase };
