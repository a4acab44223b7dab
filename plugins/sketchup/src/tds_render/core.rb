# frozen_string_literal: true

# The host-independent part of the extension: everything here runs in plain Ruby (2.7 or newer,
# standard library only) and is what the tests in plugins/sketchup/test exercise on Linux.
# Nothing in core/ may touch Sketchup, UI or Geom: the adapter in host/ does that.

require_relative 'core/version'
require_relative 'core/errors'
require_relative 'core/http'
require_relative 'core/settings'
require_relative 'core/catalogue'
require_relative 'core/render_request'
require_relative 'core/output'
require_relative 'core/client'
