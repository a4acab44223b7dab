# frozen_string_literal: true

require 'json'

module Tds
  module Render
    module Host
      # The panel: an HtmlDialog (html/dialog.html) that sends the user's actions to the App and
      # shows the state the App pushes back as JSON.
      class Dialog
        def initialize(app)
          @app = app
          @dialog = nil
        end

        def show
          @dialog ||= build
          @dialog.visible? ? @dialog.bring_to_front : @dialog.show
        end

        def visible?
          !@dialog.nil? && @dialog.visible?
        end

        def update(state)
          return unless @dialog

          @dialog.execute_script("tds.update(#{JSON.generate(state)})")
        end

        private

        def build
          dialog = UI::HtmlDialog.new(
            dialog_title: 'tds Render',
            preferences_key: 'Tds_Render_Dialog',
            scrollable: true,
            resizable: true,
            width: 420,
            height: 720,
            min_width: 360,
            min_height: 480,
            style: UI::HtmlDialog::STYLE_DIALOG
          )
          dialog.set_file(File.join(HTML, 'dialog.html'))
          dialog.add_action_callback('ready') { |_ctx, _arg| @app.dialog_ready }
          dialog.add_action_callback('save_settings') { |_ctx, json| @app.save_settings(parse(json)) }
          dialog.add_action_callback('options_changed') { |_ctx, json| @app.options_changed(parse(json)) }
          dialog.add_action_callback('render') { |_ctx, json| @app.render(parse(json)) }
          dialog.add_action_callback('cancel') { |_ctx, _arg| @app.cancel }
          dialog.add_action_callback('place') { |_ctx, _arg| @app.place_in_model }
          dialog.add_action_callback('open_folder') { |_ctx, _arg| @app.open_folder }
          dialog.add_action_callback('refresh') { |_ctx, _arg| @app.refresh }
          dialog.set_on_closed { @dialog = nil }
          dialog
        end

        def parse(json)
          value = JSON.parse(json.to_s)
          value.is_a?(Hash) ? value : {}
        rescue JSON::ParserError
          {}
        end
      end
    end
  end
end
