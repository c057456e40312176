'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { titleCase } = require('./titlecase.js');

test('capitalises each word', () => {
  assert.strictEqual(titleCase('hello big world'), 'Hello Big World');
});

test('lowercases the rest', () => {
  assert.strictEqual(titleCase('sHOUTING tEXT'), 'Shouting Text');
});
