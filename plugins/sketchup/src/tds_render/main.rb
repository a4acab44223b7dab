# frozen_string_literal: true

# Loaded by the extension (see ../tds_render.rb) when it is enabled: the core, the SketchUp
# adapter, and one menu item and toolbar button that open the panel.

require 'sketchup.rb'
require_relative 'core'
require_relative 'host/http_transport'
require_relative 'host/capture'
require_relative 'host/settings_store'
require_relative 'host/model_project'
require_relative 'host/dialog'
require_relative 'host/app'

module Tds
  module Render
    module Host
      def self.install_ui
        command = UI::Command.new('Render View…') { App.instance.show }
        command.tooltip = 'tds Render'
        command.status_bar_text = 'Send the active view to tds and show the render.'
        command.small_icon = File.join(IMAGES, 'render_16.png')
        command.large_icon = File.join(IMAGES, 'render_24.png')

        menu = UI.menu('Extensions').add_submenu('tds Render')
        menu.add_item(command)
        menu.add_item('Settings…') { App.instance.show(settings: true) }

        toolbar = UI::Toolbar.new('tds Render')
        toolbar.add_item(command)
        toolbar.restore
        command
      end
    end

    unless file_loaded?(__FILE__)
      Host.install_ui
      file_loaded(__FILE__)
    end
  end
end
