# frozen_string_literal: true

module Tds
  module Render
    module Host
      # The panel's choices and the API key in SketchUp's per-user preferences (the registry on
      # Windows, a plist on macOS): never in the .skp, which gets shared. The options go in as
      # base64 JSON because write_default mangles quotes and backslashes in string values. The
      # project code is the model's own (ModelProject), so it is left out here.
      class SettingsStore
        SECTION = 'Tds_Render'

        def load
          encoded = Sketchup.read_default(SECTION, 'settings', '').to_s
          json = encoded.empty? ? '' : encoded.unpack1('m0').force_encoding(Encoding::UTF_8)
          Core::Settings.from_json(json, api_key: Sketchup.read_default(SECTION, 'api_key', nil))
        rescue ArgumentError
          Core::Settings.new({}, Sketchup.read_default(SECTION, 'api_key', nil))
        end

        def save(settings)
          Sketchup.write_default(SECTION, 'settings', [settings.preferences_json].pack('m0'))
          Sketchup.write_default(SECTION, 'api_key', settings.api_key.to_s)
        end
      end
    end
  end
end
