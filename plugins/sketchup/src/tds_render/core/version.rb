# frozen_string_literal: true

module Tds
  module Render
    VERSION = '0.1.0'
    # Sent as `source` with every render, so the dashboard shows where it came from.
    SOURCE = 'sketchup'
  end
end
