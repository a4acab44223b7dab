# frozen_string_literal: true

# tds Render for SketchUp: the loader. SketchUp loads every .rb file in its Plugins folder at
# start-up; this one only registers the extension, so the user can switch it off in the
# Extension Manager. The code lives in the support folder tds_render/ and loads from main.rb.

require 'sketchup.rb'
require 'extensions.rb'

module Tds
  module Render
    unless defined?(EXTENSION)
      loader = File.basename(__FILE__, '.rb')
      EXTENSION = SketchupExtension.new('tds Render', File.join(File.dirname(__FILE__), loader, 'main'))
      EXTENSION.creator = 'tds'
      EXTENSION.version = '0.1.0'
      EXTENSION.copyright = 'tds contributors, Apache-2.0'
      EXTENSION.description = 'Render the active view with the tds API: pick a scene type, style, ' \
                              'lighting and resolution, see the cost and your balance, click Render.'
      Sketchup.register_extension(EXTENSION, true)
    end
  end
end
