# frozen_string_literal: true

module Tds
  module Render
    module Host
      # The project code a model's renders are billed to, kept in the model's attribute
      # dictionary: it travels with the .skp to whoever opens it next, as the project does.
      # Nothing else of the plugin's goes there (the key and options stay in the preferences).
      module ModelProject
        DICTIONARY = 'tds_render'
        KEY = 'project'

        module_function

        def read(model)
          return nil unless model

          text = model.get_attribute(DICTIONARY, KEY, nil).to_s.strip
          text.empty? ? nil : text
        end

        # Writes only a change, so opening the panel never marks the model as modified.
        def write(model, project)
          return unless model

          value = project.to_s.strip
          value = nil if value.empty?
          return if read(model) == value

          if value
            model.set_attribute(DICTIONARY, KEY, value)
          else
            model.delete_attribute(DICTIONARY, KEY)
          end
        end
      end
    end
  end
end
