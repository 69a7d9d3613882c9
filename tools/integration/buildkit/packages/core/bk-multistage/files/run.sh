#!/bin/sh
echo ms
